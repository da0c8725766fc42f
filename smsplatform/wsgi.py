from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsplatform.settings")

application = get_wsgi_application()

from smsplatform.checks import refuse_to_start_on_errors  # noqa: E402

refuse_to_start_on_errors()
