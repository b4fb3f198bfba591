import { Injectable } from '@nestjs/common';
import { type CompileInput, type GeneratedFiles, WorkflowCompiler } from './workflow-compiler';
import { zipFiles } from './zip-archive';

/** A stored workflow version, as the exporter needs it. */
export interface ExportableWorkflow extends CompileInput {
  updatedAt: Date;
}

/**
 * Exports workflow versions: the compiled files, and the same as a zip. Each version compiles
 * once while its (immutable, cached) workflow object lives; exporting and executing share it.
 */
@Injectable()
export class WorkflowExporter {
  private readonly compiled = new WeakMap<ExportableWorkflow, GeneratedFiles>();

  constructor(private readonly compiler: WorkflowCompiler) {}

  /** main.py, utils.py and requirements.txt; throws InvalidWorkflowError when the graph does not compile. */
  files(workflow: ExportableWorkflow): GeneratedFiles {
    let files = this.compiled.get(workflow);
    if (files === undefined) {
      files = Object.freeze(this.compiler.compile(workflow));
      this.compiled.set(workflow, files);
    }
    return files;
  }

  /** The same files as a zip archive, stamped with the version's save time (same version, same bytes). */
  zip(workflow: ExportableWorkflow): Buffer {
    return zipFiles(this.files(workflow), workflow.updatedAt);
  }
}
