// The files a Compose file names by path — env_file, extends.file, include — read from its
// package only: relative to the naming file, beneath the package's root (the directory of the
// first Compose file, or the unpacked compose component), through no symlink
// (host-apis/capabilities/read-beneath.ts). A path that leaves the package is refused by name.
import path from 'node:path';
import { OutsideRootError } from '../../host-apis/capabilities/directory-handle.js';
import { readFileBeneath } from '../../host-apis/capabilities/read-beneath.js';

/** Compose files and env files are text a person wrote: 1 MiB is far beyond any real one. */
const MAX_FILE_BYTES = 1024 * 1024;

/**
 * `confinement`: the path leaves the package (absolute, above its root, through a symlink): the
 * isolation rule package-path refuses it; otherwise the file is simply missing or unreadable.
 */
export class PackageFileError extends Error {
  constructor(message: string, readonly confinement = false) { super(message); }
}

export interface PackageFiles {
  /**
   * The text of `relative`, named in the file at `fromDir` (a directory relative to the package
   * root, "." for the root), and its path relative to the root. Throws PackageFileError saying why not.
   */
  read(relative: string, fromDir: string): { text: string; path: string };
  /** The same, as bytes (secrets and configs may be binary). */
  bytes(relative: string, fromDir: string): Buffer;
}

/** Paths as a Compose file writes them, relative to the package root ("./a/../b.env" from "sub" -> "sub/b.env"). */
export function packagePath(relative: string, fromDir: string): string {
  if (path.isAbsolute(relative)) throw new PackageFileError(`"${relative}" is an absolute path; name a file inside the package, relative to the Compose file`, true);
  const joined = path.posix.normalize(path.posix.join(fromDir, relative.replace(/\\/g, '/')));
  if (joined === '..' || joined.startsWith('../')) throw new PackageFileError(`"${relative}" leads outside the package`, true);
  return joined;
}

export function packageFilesAt(root: string, maxBytes = MAX_FILE_BYTES): PackageFiles {
  const files: PackageFiles = {
    read(relative, fromDir) {
      return { text: files.bytes(relative, fromDir).toString('utf8'), path: packagePath(relative, fromDir) };
    },
    bytes(relative, fromDir) {
      const at = packagePath(relative, fromDir);
      try {
        return readFileBeneath(root, at, maxBytes);
      } catch (err) {
        if (err instanceof OutsideRootError) throw new PackageFileError(err.message, !/is not a regular file|is larger than/.test(err.message));
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new PackageFileError(`"${relative}" does not exist in the package`);
        if (code === 'ENOTDIR' || code === 'EISDIR') throw new PackageFileError(`"${relative}" is not a file`);
        throw new PackageFileError(`"${relative}" cannot be read (${code ?? (err as Error).message})`);
      }
    },
  };
  return files;
}

/** No package at hand (a Compose file sent as text alone): every reference is refused, saying so. */
export const NO_PACKAGE_FILES: PackageFiles = {
  read(relative) {
    throw new PackageFileError(`"${relative}" cannot be read: the Compose file came without the files it names`);
  },
  bytes(relative) {
    throw new PackageFileError(`"${relative}" cannot be read: the Compose file came without the files it names`);
  },
};
