"""The REST server: ``create_app(memory, settings)`` and what it is built from.

Needs the ``server`` extra (``pip install 'engramdb[server]'``). Run it with ``engramdb serve``.
"""

from engramdb.server.app import create_app
from engramdb.server.keys import ApiKey, CreatedKey, KeyStore
from engramdb.server.runner import ServerThread, serve
from engramdb.server.settings import ServerSettings

__all__ = [
    "ApiKey",
    "CreatedKey",
    "KeyStore",
    "ServerSettings",
    "ServerThread",
    "create_app",
    "serve",
]
