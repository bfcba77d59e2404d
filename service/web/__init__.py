"""The web front: the pages a person uses (profile, search, account, claims, invitations), served
by the same process at ``/``. Plain ES modules and CSS shipped in the package (no build step, no
network at run time); they talk to ``/graphql`` with the client documents of
``service/documents``."""
