import type { InputMode, SessionEvent, TurnBlock } from '@jelmore/contracts';

/** What one node asks of the node that runs a session's agent. */
export type ClusterCommand =
  | { op: 'input'; sessionId: string; content: TurnBlock[]; mode?: InputMode }
  | { op: 'interrupt'; sessionId: string }
  | { op: 'suspend'; sessionId: string; reason?: string }
  | { op: 'terminate'; sessionId: string; reason?: string }
  | { op: 'permission'; sessionId: string; requestId: string; allow: boolean; reason?: string };

/** What this node does for the others, handed to the cluster once as the sessions module starts. */
export interface ClusterMember {
  /** Runs a command another node forwarded (its caller was authorized there). */
  execute(command: ClusterCommand): Promise<void>;
  /** Another node's committed batch (or a session's end), for this node's subscribers. */
  deliver(sessionId: string, batch: SessionEvent[] | 'end'): void;
  /** Marks the sessions of nodes whose lease expired interrupted; resolves with how many. */
  reapLostNodes(): Promise<number>;
}

/**
 * The other nodes of a cluster, as the sessions see them (provided as SESSIONS_CLUSTER). A session is
 * owned by the node that runs its agent (`node_id` in the store, a lease in Redis); commands given to any
 * node go to the owner, and each node's committed events reach every node's subscribers.
 */
export interface SessionsCluster {
  /** Whether the node holds its lease: it runs, and its sessions are its own. */
  isAlive(nodeId: string): Promise<boolean>;
  /** Runs the command on the owner node; rejects with the owner's error, its code kept. */
  forward(nodeId: string, command: ClusterCommand): Promise<void>;
  /** Tells the other nodes about events committed here (or a session's end), for their subscribers. */
  publish(sessionId: string, batch: SessionEvent[] | 'end'): void;
  /** Called once by the sessions module as it starts: where what other nodes send this one goes. */
  join(member: ClusterMember): void;
}
