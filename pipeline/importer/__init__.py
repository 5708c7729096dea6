"""`gwpipe import`: read existing manifests, let the plugins claim them as a spec, prove the round trip."""
