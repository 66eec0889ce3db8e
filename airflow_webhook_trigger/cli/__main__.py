"""``python -m airflow_webhook_trigger.cli``: the ``airflow-webhooks`` command."""

from airflow_webhook_trigger.cli.commands import main

raise SystemExit(main())
