"""osteoreg: a data warehouse and cohort registry for bone health."""

__version__ = "0.1.0"
