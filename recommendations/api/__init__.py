"""REST API for integrators: a thin DRF layer over serving, the catalogue and tracking."""
