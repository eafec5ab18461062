"""The API areas, one module each; thin layers over `BaseClient.request` and the streams."""

from esploro_async.resources._base import Resource, StreamOptions
from esploro_async.resources.analytics import Analytics
from esploro_async.resources.assets import Assets
from esploro_async.resources.researchers import Researchers

__all__ = ["Analytics", "Assets", "Researchers", "Resource", "StreamOptions"]
