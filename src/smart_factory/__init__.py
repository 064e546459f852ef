"""Smart Factory IoT pipeline workshop: simulator, lakehouse, local DLT runtime, alerts, dashboards."""

__version__ = "0.1.0"
