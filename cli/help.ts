/** Help texts, one per command. */
export const help: Record<string, string> = {
  main: `raftbus — a clustered, durable message broker

usage: raftbus <command> [options]

commands:
  node [flags]                  run a broker node (raftbus node --help for its flags)
  cluster up --nodes N [--base-port P] [--data-dir D]
                                run N nodes on this machine (raftbus cluster --help)
  topic create <name> --partitions N [--retention-ms MS] [--retention-bytes B] [--segment-bytes B]
  topic list
  topic describe <name>
  topic delete <name>
  produce <topic> [options]     send records read from stdin (one per line), or generated ones
  consume <topic> [options]     print records

every client command takes --broker host:port (env RAFTBUS_BROKER, default 127.0.0.1:9092)
and --timeout-ms MS (give up after this long). raftbus <command> --help shows its options.
exit codes: 0 ok, 1 failure, 2 bad usage.`,
  topic: `usage:
  raftbus topic create <name> --partitions N [--replication-factor R] [--retention-ms MS]
                                [--retention-bytes B] [--segment-bytes B] [--if-not-exists]
  raftbus topic list
  raftbus topic describe <name>
  raftbus topic delete <name>
options: --broker host:port, --timeout-ms MS`,
  produce: `usage: raftbus produce <topic> [options]
reads stdin, one record per line (the line is the value), unless --generate is given.
options:
  --keyed              lines are key<TAB>value
  --key K              use K as the key of every record
  --key-field F        lines are JSON objects; the key is the string value of field F
  --partition P        send every record to partition P
  --generate N         send N generated records instead of reading stdin (keys key-<i>)
  --size B             value size of generated records in bytes (default 100)
  --acks none|leader|quorum   (default quorum)
  --linger-ms MS       batching delay (default 5)
  --idempotent         producer id + sequence numbers: retries write nothing twice (needs a node with InitProducerId)
  --broker host:port, --timeout-ms MS
prints one summary line: records sent, failed, time and rate.`,
  consume: `usage: raftbus consume <topic> [options]
options:
  --partition P               read only partition P (default: all)
  --from earliest|latest|N    where to start (default earliest)
  --count N                   stop after N records (default: run until interrupted)
  --format text|json          text prints the value (key<TAB>value when keyed); json one object per line
  --broker host:port, --timeout-ms MS (fail if --count records did not arrive in time)`,
};
