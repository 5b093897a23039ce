"""The component's entry point: componentize-py exports the class named
after the WIT interface (`provider-api` -> `ProviderApi`) from this module.

The logic lives in the `webhook_json` package, which the unit tests
import natively; this module binds it to the real host imports.

componentize-py runs this module once at build time and snapshots the
initialized interpreter into the component. At run time the component has
no files (the host grants none), so a standard-library module first
imported inside a call fails with ModuleNotFoundError. Hence every import
is at the top of a module, and `warmup.exercise()` below drives each export
through its paths now, so modules the standard library imports lazily
(CPython 3.14's `hmac` imports `warnings` on first use) are loaded into the
snapshot too.
"""

import sys

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host

from webhook_json import warmup
from webhook_json.provider import WebhookJson


def _logged(method):
    """Logs an unexpected exception through the host before it propagates.
    componentize-py turns it into a trap that says only "Python function
    threw an unexpected exception"; the log line says which and where.
    `Err` is an answer, not a failure. The frames are walked by hand: the
    `traceback` module would read source files, and there are none."""

    def call(*args):
        try:
            return method(*args)
        except Err:
            raise
        except BaseException:
            error = sys.exc_info()[1]
            frames = []
            tb = error.__traceback__
            while tb is not None:
                frames.append(f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}")
                tb = tb.tb_next
            host.log(host.LogLevel.ERROR, f"{method.__name__} failed: {error!r} at {' <- '.join(reversed(frames))}")
            raise

    call.__name__ = method.__name__
    call.__doc__ = method.__doc__
    return call


class ProviderApi(WebhookJson, exports.ProviderApi):
    def __init__(self):
        # No fake: every outbound call goes through the host's `http-fetch`.
        super().__init__(fetch=None)


for _name in (
    "manifest", "oauth_authorize_url", "connect", "disconnect", "route", "verify",
    "normalize", "send", "fetch_attachment", "check_connection",
):
    setattr(ProviderApi, _name, _logged(getattr(WebhookJson, _name)))

# At build time only (this module runs once, before the snapshot). Uses a
# fake in place of `http-fetch`: the host is not there yet.
warmup.exercise()
