// Every path an instruction or an LLM names is untrusted: it must resolve inside the workspace.
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';

export class PathError extends Error {}

/**
 * Resolves `rel` against `workspace` and returns the absolute path, or throws PathError when it
 * is absolute, climbs out with `..`, or passes through a symlink that leads out of the workspace.
 */
export function resolveInside(workspace: string, rel: string): string {
  if (rel.trim() === '') throw new PathError('empty path');
  if (rel.includes('\0')) throw new PathError(`path contains a NUL byte: ${JSON.stringify(rel)}`);
  if (path.isAbsolute(rel) || /^[A-Za-z]:[\\/]/.test(rel)) throw new PathError(`absolute path not allowed: ${rel}`);
  const root = path.resolve(workspace);
  const target = path.resolve(root, rel);
  if (!isWithin(root, target)) throw new PathError(`path leaves the workspace: ${rel}`);
  // Follow symlinks on the part of the path that exists already.
  const realRoot = realOrSelf(root);
  let existing = target;
  while (existing !== root && !exists(existing)) existing = path.dirname(existing);
  const realExisting = realOrSelf(existing);
  if (!isWithin(realRoot, realExisting)) throw new PathError(`path leaves the workspace through a symlink: ${rel}`);
  // A dangling symlink has no real path: judge it by where it points.
  if (existing !== target && isSymlink(target)) {
    const pointsTo = path.resolve(path.dirname(target), readlinkSync(target));
    if (!isWithin(realRoot, realOrSelf(pointsTo)))
      throw new PathError(`path leaves the workspace through a symlink: ${rel}`);
  }
  return target;
}

export function isWithin(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

function exists(p: string): boolean {
  try {
    realpathSync(p);
    return true;
  } catch {
    return false;
  }
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function realOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
