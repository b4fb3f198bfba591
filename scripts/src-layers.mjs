#!/usr/bin/env node
// The layering rule of src/: no two module folders depend on each other, directly or around a
// circle (spec files aside). dependency-cruiser reads the imports (type-only ones included) and
// collapses every module into its folder (src/workflows/graph/x.ts counts as src/workflows/);
// a circle among those folders is what this script reports. Its own `circular` rule cannot say
// it: that one is computed per module, before the collapse.
//
//   node scripts/src-layers.mjs [root]   root: the directory holding src/ (default: the repository)
//
// Exit code 0 when the folders form layers, 1 with each circle printed otherwise.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise } from 'dependency-cruiser';

const MODULE_FOLDER = '^src/[^/]+/';

/** Folder → the folders it imports, from dependency-cruiser's graph collapsed to module folders. */
export async function moduleFolderGraph(root) {
  const cwd = process.cwd();
  process.chdir(root); // dependency-cruiser names modules relative to the working directory
  try {
    const { output } = await cruise(['src'], {
      collapse: MODULE_FOLDER,
      includeOnly: { path: '^src/' },
      exclude: { path: '\\.spec\\.ts$' },
      doNotFollow: { path: 'node_modules' },
      tsPreCompilationDeps: true,
      enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
    });
    const isFolder = (name) => new RegExp(`${MODULE_FOLDER}$`).test(name);
    const graph = new Map();
    for (const module of output.modules.filter((m) => isFolder(m.source))) {
      graph.set(module.source, [...new Set(module.dependencies.map((d) => d.resolved).filter((to) => isFolder(to) && to !== module.source))]);
    }
    return graph;
  } finally {
    process.chdir(cwd);
  }
}

/** The strongly connected components of more than one folder (Tarjan): each is a circle of folders. */
export function folderCircles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const circles = [];
  let next = 0;
  const visit = (folder) => {
    index.set(folder, next);
    low.set(folder, next++);
    stack.push(folder);
    onStack.add(folder);
    for (const to of graph.get(folder) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(folder, Math.min(low.get(folder), low.get(to)));
      } else if (onStack.has(to)) {
        low.set(folder, Math.min(low.get(folder), index.get(to)));
      }
    }
    if (low.get(folder) === index.get(folder)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== folder);
      if (component.length > 1) circles.push(component.sort());
    }
  };
  for (const folder of graph.keys()) if (!index.has(folder)) visit(folder);
  return circles;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? resolve(fileURLToPath(import.meta.url), '../..'));
  const graph = await moduleFolderGraph(root);
  const circles = folderCircles(graph);
  for (const circle of circles) {
    const pairs = circle.flatMap((from) => (graph.get(from) ?? []).filter((to) => circle.includes(to)).map((to) => `    ${from} → ${to}`));
    console.error(`src-layers: these module folders depend on each other around a circle:\n${pairs.join('\n')}`);
  }
  console.log(`src-layers: ${graph.size} module folders, ${circles.length} circle(s)`);
  process.exitCode = circles.length > 0 ? 1 : 0;
}
