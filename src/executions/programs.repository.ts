import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LRUCache } from 'lru-cache';
import { createHash } from 'node:crypto';
import { Repository } from 'typeorm';
import type { GeneratedFiles } from '../codegen/workflow-compiler';
import { jsonText } from '../database/columns';
import { rawQuery } from '../database/raw-query';
import { ProgramEntity } from './program.entity';

/** A program the create path stores: the files, and the workflow version they were compiled from. */
export type NewProgram = Pick<ProgramEntity, 'workspaceId' | 'workflowId' | 'workflowVersion' | 'files' | 'createdAt'>;

/** How many program ids this process remembers as stored (a forgotten one costs one INSERT … DO NOTHING). */
const KNOWN_STORED = 10_000;
/** Loaded programs kept in memory, by their files' total length (the bench's two-node program is 37 KB). */
const LOADED_MAX_CHARS = 32 * 1024 * 1024;
/** Columns of a `programs` row, in INSERT order. */
const COLUMNS = ['id', 'workspace_id', 'workflow_id', 'workflow_version', 'files', 'created_at'] as const;

/**
 * The id of a program: the SHA-256 of its workspace and its files' JSON text. A hash of the content
 * rather than (workflow, version): the bytes a version compiles to may change with the server (its
 * templates, node packs), and an execution must keep exactly the bytes it ran; equal content gives
 * one id, so concurrent instances storing it agree (INSERT … ON CONFLICT DO NOTHING). The workspace is
 * hashed in so that a program belongs to one workspace, and goes with it (ON DELETE CASCADE).
 */
export function programId(workspaceId: string, filesText: string): string {
  return createHash('sha256').update(`${workspaceId}\n`).update(filesText).digest('hex');
}

/**
 * The `programs` table: the files executions run, stored once per content (see {@link programId})
 * and referenced by `executions.program_id`. Both caches are per process and bounded: which
 * programs are known to be stored (so that the create path inserts a program once, not with every
 * execution), and loaded programs (immutable, so never stale; a hand-made LRU is not needed:
 * lru-cache's `fetch` also joins concurrent loads of one program).
 */
@Injectable()
export class ProgramsRepository {
  /** The id of each frozen files object: the exporter compiles each workflow version once into one, shared by its executions. */
  private readonly ids = new WeakMap<GeneratedFiles, { workspaceId: string; id: string }>();
  private readonly stored = new LRUCache<string, true>({ max: KNOWN_STORED });
  private readonly loaded = new LRUCache<string, GeneratedFiles>({
    maxSize: LOADED_MAX_CHARS,
    sizeCalculation: (files) =>
      Math.max(
        1,
        Object.values(files).reduce((sum, text) => sum + text.length, 0),
      ),
    fetchMethod: async (id) => {
      const [row] = await rawQuery<{ workspace_id: string; files: string }>(
        this.programs.manager.connection,
        'SELECT workspace_id, files FROM programs WHERE id = :id',
        {
          id,
        },
      );
      if (row === undefined) return undefined;
      const files = Object.freeze(jsonText.from(row.files) as GeneratedFiles);
      this.ids.set(files, { workspaceId: row.workspace_id, id });
      return files;
    },
  });

  constructor(@InjectRepository(ProgramEntity) private readonly programs: Repository<ProgramEntity>) {}

  /** The id of the program of these files in the workspace; computed once per frozen files object. */
  idOf(workspaceId: string, files: GeneratedFiles): string {
    const known = this.ids.get(files);
    if (known?.workspaceId === workspaceId) return known.id;
    const id = programId(workspaceId, jsonText.to(files));
    if (Object.isFrozen(files)) this.ids.set(files, { workspaceId, id });
    return id;
  }

  /**
   * Stores the programs not known to be stored, in one statement; a program stored meanwhile by
   * another process (the same id is the same content) is left as it is. Returns their ids, in order.
   */
  async store(programs: readonly NewProgram[]): Promise<string[]> {
    const ids = programs.map((program) => this.idOf(program.workspaceId, program.files));
    const missing = new Map<string, NewProgram>();
    programs.forEach((program, index) => {
      if (!this.stored.has(ids[index])) missing.set(ids[index], program);
    });
    if (missing.size === 0) return ids;
    const parameters: Record<string, unknown> = {};
    const rows = [...missing].map(([id, program], row) => {
      const values = [id, program.workspaceId, program.workflowId, program.workflowVersion, jsonText.to(program.files), program.createdAt.toISOString()];
      values.forEach((value, column) => (parameters[`${COLUMNS[column]}${row}`] = value));
      return `(${COLUMNS.map((column) => `:${column}${row}`).join(', ')})`;
    });
    await rawQuery(
      this.programs.manager.connection,
      `INSERT INTO programs (${COLUMNS.join(', ')}) VALUES ${rows.join(', ')} ON CONFLICT (id) DO NOTHING`,
      parameters,
    );
    for (const id of missing.keys()) this.stored.set(id, true);
    return ids;
  }

  /** Forgets that these programs are stored: one was deleted meanwhile (the retention job), as a foreign key said. */
  forget(ids: Iterable<string>): void {
    for (const id of ids) this.stored.delete(id);
  }

  /** The files of a program (frozen, cached); null when there is no such program. */
  async load(id: string): Promise<GeneratedFiles | null> {
    return (await this.loaded.fetch(id)) ?? null;
  }
}
