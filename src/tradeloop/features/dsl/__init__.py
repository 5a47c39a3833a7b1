"""The feature DSL: gold features as a graph of small nodes over the silver grid."""
