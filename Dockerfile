FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY alembic.ini schema.graphql ./
COPY service ./service
COPY workers ./workers
COPY migrations ./migrations
RUN uv sync --frozen --no-dev
ENV PATH=/app/.venv/bin:$PATH BZPEER_ENV=production
EXPOSE 8000
CMD ["bzpeer", "serve", "--host", "0.0.0.0", "--port", "8000"]
