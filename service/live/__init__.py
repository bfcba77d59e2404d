"""Live updates: workers publish which researchers' follower counts and trust changed, and every
API process pushes the new values to its subscribers."""
