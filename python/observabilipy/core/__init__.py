"""The pure core: models, ports, instruments and encoders. No I/O, no frameworks."""
