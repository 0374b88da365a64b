/** The raftbus release and the wire protocol versions this build speaks. */
export const RAFTBUS_VERSION = '0.1.0';
