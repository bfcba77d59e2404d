"""Files the service ships and serves itself (the GraphiQL page and its pinned assets), so that
nothing it serves loads from another origin."""
