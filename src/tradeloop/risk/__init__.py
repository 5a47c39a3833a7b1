"""Pre-trade checks, the kill switch and trading state; they guard every order."""
