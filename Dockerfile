# One image for the Node parts of JasaWeb: the one-shot migration job and the
# worker. PostgreSQL and PostgREST use their official images (docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY .gmrc ./
COPY db ./db
COPY worker ./worker
COPY migrations ./migrations
USER node
CMD ["npm", "run", "worker"]
