FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY smsplatform smsplatform
COPY accounts accounts
COPY campaigns campaigns
COPY blacklist blacklist
COPY callbacks callbacks
RUN pip install --no-cache-dir .
COPY . .
RUN DEBUG=true python manage.py collectstatic --no-input
EXPOSE 8000
# Threads: the inbound webhook commits concurrent replies together (blacklist/intake.py).
CMD ["gunicorn", "smsplatform.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", \
     "--worker-class", "gthread", "--threads", "16"]
