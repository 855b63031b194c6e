import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type {
  Checkpoint,
  FileChange,
  FileChangeStatus,
  RewindResult,
  SessionDiff,
} from '@jelmore/contracts';
import { SESSION_EXAMPLE, SessionResourceDto } from './responses.dto';

// Response shapes of the checkpoint, diff, rewind and fork routes, for the OpenAPI document.

const FILE_STATUSES: FileChangeStatus[] = ['added', 'modified', 'deleted', 'type_changed'];

export const CHECKPOINTS_EXAMPLE: Checkpoint[] = [
  {
    turn: 0,
    commit: '4b825dc642cb6eb9a060e54bf8d69288fbee4904',
    filesChanged: 0,
    createdAt: '2026-01-15T09:30:00.200Z',
  },
  {
    turn: 1,
    commit: '9c1d0f3a7e52b6d84f1a0c2e3b5d7f9a1c3e5b7d',
    filesChanged: 1,
    createdAt: '2026-01-15T09:30:09.870Z',
  },
];

export const DIFF_EXAMPLE: SessionDiff = {
  from: 0,
  to: 1,
  files: [{ path: 'hello.py', status: 'added', additions: 1, deletions: 0 }],
  patch:
    'diff --git a/hello.py b/hello.py\nnew file mode 100644\nindex 0000000..ce01362\n' +
    "--- /dev/null\n+++ b/hello.py\n@@ -0,0 +1 @@\n+print('hello')\n",
};

export class CheckpointDto implements Checkpoint {
  @ApiProperty({ example: 1, description: '0: as the session started' }) turn!: number;
  @ApiProperty({ description: 'The git commit of its files (in the checkpoint store)' })
  commit!: string;
  @ApiProperty({ description: 'Files that differ from the previous checkpoint' })
  filesChanged!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class FileChangeDto implements FileChange {
  @ApiProperty({ example: 'src/app.ts' }) path!: string;
  @ApiProperty({ enum: FILE_STATUSES }) status!: FileChangeStatus;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Lines; null for binary files' })
  additions!: number | null;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Lines; null for binary files' })
  deletions!: number | null;
}

export class SessionDiffDto implements SessionDiff {
  @ApiProperty() from!: number;
  @ApiPropertyOptional({ description: "Absent: to the session's files now" }) to?: number;
  @ApiProperty({ type: [FileChangeDto] }) files!: FileChangeDto[];
  @ApiProperty({ description: 'Unified diff (git format, a/ and b/ prefixes)' }) patch!: string;
}

export class RewindResultDto implements RewindResult {
  @ApiProperty({ type: SessionResourceDto }) session!: SessionResourceDto;
  @ApiProperty() turn!: number;
  @ApiProperty({ description: 'Files the rewind changed' }) filesChanged!: number;
  @ApiProperty({
    enum: ['truncated', 'kept'],
    description:
      'truncated: the conversation was cut back to the turn; kept: the provider cannot, it goes on whole',
  })
  conversation!: 'truncated' | 'kept';
}

export const REWIND_EXAMPLE: RewindResult = {
  session: { ...SESSION_EXAMPLE, state: 'idle' },
  turn: 1,
  filesChanged: 1,
  conversation: 'truncated',
};
