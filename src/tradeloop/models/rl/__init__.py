"""Reinforcement learning: the market state, trading environments and agents (torch is
imported only by the agents)."""
