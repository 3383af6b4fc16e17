"""Tools to drive a real server over HTTP: a Dash client that builds callback requests from the
app's own callback graph (`devtools.dash_client`) and a launcher for the documented server on a
free loopback port (`devtools.server`). Used by the tests and the benchmarks, not by the app."""
