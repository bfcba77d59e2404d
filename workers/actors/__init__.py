"""Every actor module, imported here so that importing this package registers them all in
``workers.actor.EVENT_ACTORS``."""

from workers.actors import claims, clusters, follows, works

__all__ = ["claims", "clusters", "follows", "works"]
