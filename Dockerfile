# One raftbus node. Node 24 LTS runs the TypeScript sources directly (type stripping).
# Settings come from flags or env RAFTBUS_<FLAG> (node/config.ts); docker-compose.cluster.yml
# runs three of these with `command: ["node"]` and env only.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY node ./node
COPY cluster ./cluster
COPY client ./client
COPY cli ./cli
COPY bin ./bin
VOLUME /data
# client, raft, gossip, HTTP (/health, /metrics)
EXPOSE 9092 9192 9292 10092
# The slim image has no curl: Node's fetch asks /health (HTTP port = client port + 1000 by default).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.RAFTBUS_HTTP_PORT || 10092) + '/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "cli/raftbus.ts"]
CMD ["node", "--host", "0.0.0.0", "--port", "9092", "--data-dir", "/data"]
