# One raftbus node. Node 24 LTS runs the TypeScript sources directly (type stripping).
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
EXPOSE 9092 10092
ENTRYPOINT ["node", "cli/raftbus.ts"]
CMD ["node", "--host", "0.0.0.0", "--port", "9092", "--data-dir", "/data"]
