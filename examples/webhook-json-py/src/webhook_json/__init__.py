"""The JSON webhook provider, in Python.

A port of `examples/webhook-json` (Rust) to Python, built into a
WebAssembly component with componentize-py. The formats, answers and error
texts are the Rust version's: see its crate docs (`../webhook-json/src/lib.rs`)
and `docs/plugins.md`. This package holds the logic; `app.py` beside it is
the component's entry point.

| module            | holds                                           |
|-------------------|-------------------------------------------------|
| `settings`        | the channel's fields, checked; origins          |
| `signature`       | signing and checking bodies                     |
| `verify`          | authenticating inbound requests                 |
| `payload`         | reading an inbound event's JSON, serde-strict   |
| `normalize`       | inbound events as Switchboard events            |
| `attachment_kind` | attachment kinds by name                        |
| `send`            | replies as signed POSTs                         |
| `fetch`           | attachment downloads                            |
| `answer`          | what a failed call means for the host           |
| `connect`         | connecting a channel                            |
| `provider`        | the exported functions, put together            |
| `warmup`          | every export run once at build time (app.py)    |

Every module uses the WIT types componentize-py generates (`wit_world`),
so the unit tests (`tests/`) check the very values the host receives.
Functions whose WIT result is a `result<_, E>` raise
`componentize_py_types.Err(E)`, as componentize-py expects.
"""
