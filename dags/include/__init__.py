"""Plain-Python pipeline logic. Nothing in this package imports Airflow: the DAG files
in dags/ are thin wrappers around these functions, and the unit tests call them directly."""
