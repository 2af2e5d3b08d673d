/**
 * The layer graph as the code has it: which folder imports which (every import, type
 * import, re-export and literal dynamic import counted), drawn as a Mermaid flowchart for
 * docs/layers.md.
 */

import { dependencies, sourceFiles } from './source-graph.js';

/** folderOf(): the layer folder of a source file (src/<folder>, or the top-level folder). */
export function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'src') return parts.length > 2 ? `src/${parts[1]}` : file;
  return parts[0]!;
}

/** folderEdges(): "from → to" with the number of import sites, sorted, between different folders. */
export function folderEdges(dirs: readonly string[] = ['src', 'machines', 'workers', 'bench']): Map<string, number> {
  const edges = new Map<string, number>();
  for (const file of sourceFiles(dirs)) {
    for (const d of dependencies(file)) {
      if (d.target === '' && d.specifier !== 'xstate') continue;
      const to = d.target === '' ? d.specifier : folderOf(d.target);
      const from = folderOf(file);
      if (to === from) continue;
      const key = `${from} → ${to}`;
      edges.set(key, (edges.get(key) ?? 0) + 1);
    }
  }
  return new Map([...edges].sort(([a], [b]) => a.localeCompare(b)));
}

const nodeId = (folder: string): string => folder.replace(/[^a-z0-9]/gi, '_');

/** layerMermaid(): the folder graph as a Mermaid flowchart, importers above what they import, each edge labelled with its import count. */
export function layerMermaid(edges: ReadonlyMap<string, number>): string {
  const lines = ['flowchart TB'];
  const nodes = new Set<string>();
  for (const key of edges.keys()) for (const f of key.split(' → ')) nodes.add(f);
  for (const n of [...nodes].sort()) lines.push(`  ${nodeId(n)}["${n}"]`);
  for (const [key, count] of edges) {
    const [from, to] = key.split(' → ') as [string, string];
    lines.push(`  ${nodeId(from)} -->|${count}| ${nodeId(to)}`);
  }
  return lines.join('\n');
}
