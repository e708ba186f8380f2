"""sdd: specs, prompt history and decision records for spec-first projects."""

__version__ = "0.1.0"
