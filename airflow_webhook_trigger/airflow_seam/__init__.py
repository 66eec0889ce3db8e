"""Everything that touches Airflow, behind one small seam (see README.md)."""
