# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings

WORKDIR /app

# Dependencies first, so code edits do not reinstall TensorFlow.
COPY pyproject.toml README.md ./
RUN pip install --upgrade pip && pip install .

COPY . .
RUN STATICFILES_BACKEND=whitenoise.storage.CompressedManifestStaticFilesStorage \
    python manage.py collectstatic --noinput \
    && useradd --create-home --uid 1000 shop \
    && mkdir -p /var/lib/shop/models && chown -R shop /var/lib/shop /app
USER shop
# The image is for production: DEBUG off, so it will not start without a real SECRET_KEY.
ENV DEBUG=0

EXPOSE 8000
# Access lines are logged by the app as JSON (config/request_id.py), not by gunicorn.
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
