from __future__ import annotations

import os

from celery import Celery

# The deployed processes run production settings unless told otherwise (make run and
# the tests say local and test).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("baton")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
