"""Shadow and canary routing, guard rails and rollback."""
