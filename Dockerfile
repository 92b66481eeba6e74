# Doorstep on Node 24 LTS. Sources are TypeScript run by Node's built-in type stripping: no build step.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# The node@24 devDependency is only for machines whose system Node is older; the image has Node 24.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY connectors ./connectors
COPY jobs ./jobs
COPY config ./config
# The web role's pages and browser modules; test/deploy/image-files.test.ts assembles the image's
# files from these COPY lines and fails if the board cannot be served from them.
COPY web ./web
USER node
EXPOSE 8080
# Liveness without curl in the image.
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/doorstep.js"]
CMD ["start", "--config", "/app/config/doorstep.yaml"]
