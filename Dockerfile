# One image for the worker, the alert receiver and the sandbox (docker-compose.yml
# picks the command). Build stage compiles TypeScript; the run stage has only
# production dependencies and dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY workflows ./workflows
COPY activities ./activities
COPY worker ./worker
COPY client ./client
COPY codec ./codec
COPY sandbox ./sandbox
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
# Workflow sources are bundled by the worker at start: ship the compiled ones.
USER node
EXPOSE 9464 8095 6443
CMD ["node", "dist/worker/main.js"]
