/*
 * What the program named on the command line needs to start: the file
 * itself, its ELF interpreter (PT_INTERP), the libraries the loader will map
 * (DT_NEEDED, recursively, searched along DT_RPATH / DT_RUNPATH with $ORIGIN,
 * ld.so.conf and the standard directories) and, for a "#!" script, its
 * interpreter and that interpreter's libraries. These are granted read and
 * execute implicitly, so `capgate run -- PROGRAM` always starts PROGRAM.
 *
 * The files are read with pread() at offsets bounded by their size; a
 * malformed ELF stops the walk with an error rather than being trusted.
 * The search order approximates glibc's (ld.so.cache is built from the same
 * directories); a library found elsewhere at run time is simply not granted
 * and the program fails to start, which is the safe direction.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/internal.h"

#define ELF_MAX_DEPTH 16
#define ELF_MAX_PHDRS 256
#define ELF_MAX_DYN 4096

struct elf_walk {
	struct cg_path_list *out;
	struct cg_path_list *refs;      /* names used, when not the real path */
	struct cg_path_list dirs;       /* ld.so.conf + standard directories */
	struct cg_lookup *lk;           /* the prepare's lookups (lookup.c) */
	const char *path_env;
	uint16_t machine;
	struct cg_error *err;
};

static const char *const std_lib_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib",
};

static int walk_file(struct elf_walk *w, const char *path, int depth);

static bool
is_file(struct cg_lookup *lk, const char *path)
{
	struct stat st;

	return sandbox_lookup_stat(lk, path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds name along PATH (as execvp would) into out. */
static int
search_path(struct cg_lookup *lk, const char *path_env, const char *name,
    char *out, size_t len)
{
	const char *p = path_env;

	if (name[0] == '/') {
		if (!is_file(lk, name) || strlen(name) >= len)
			return -1;
		memcpy(out, name, strlen(name) + 1);
		return 0;
	}
	if (strchr(name, '/') != NULL)
		return sandbox_lookup_realpath(lk, name, out, len);
	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ':');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		char cand[PATH_MAX];

		if (n > 0 && (size_t)snprintf(cand, sizeof(cand), "%.*s/%s",
		    (int)n, p, name) < sizeof(cand) && cand[0] == '/' && is_file(lk, cand) &&
		    access(cand, X_OK) == 0 && strlen(cand) < len) {
			memcpy(out, cand, strlen(cand) + 1);
			return 0;
		}
		p = end != NULL ? end + 1 : NULL;
	}
	errno = ENOENT;
	return -1;
}

static int
read_ldso_conf(struct cg_path_list *dirs, const char *file, int depth)
{
	char line[PATH_MAX];
	FILE *f;

	if (depth > 4 || (f = fopen(file, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s = line + strspn(line, " \t");

		s[strcspn(s, "#\r\n")] = '\0';
		while (*s != '\0' && (s[strlen(s) - 1] == ' ' || s[strlen(s) - 1] == '\t'))
			s[strlen(s) - 1] = '\0';
		if (strncmp(s, "include", 7) == 0 && (s[7] == ' ' || s[7] == '\t')) {
			glob_t g;

			s += 8 + strspn(s + 8, " \t");
			if (glob(s, 0, NULL, &g) == 0) {
				for (size_t i = 0; i < g.gl_pathc; i++)
					read_ldso_conf(dirs, g.gl_pathv[i], depth + 1);
				globfree(&g);
			}
		} else if (s[0] == '/' && sandbox_path_list_add(dirs, s) != 0) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static int
add_found(struct elf_walk *w, const char *path)
{
	if (sandbox_path_list_add(w->out, path) != 0)
		return cg_error_set(w->err, "out of memory");
	return 0;
}

/* Expands $ORIGIN / ${ORIGIN} in one search directory. */
static void
expand_origin(const char *dir, const char *origin, char *out, size_t len)
{
	const char *tok = strstr(dir, "$ORIGIN");
	size_t toklen = 7;

	if (tok == NULL && (tok = strstr(dir, "${ORIGIN}")) != NULL)
		toklen = 9;
	if (tok == NULL)
		snprintf(out, len, "%s", dir);
	else
		snprintf(out, len, "%.*s%s%s", (int)(tok - dir), dir, origin,
		    tok + toklen);
}

static bool
search_dirs(struct cg_lookup *lk, const char *list, const char *origin,
    const char *name, char *out, size_t len)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ':');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		char dir[PATH_MAX], one[PATH_MAX], cand[PATH_MAX + 256];

		snprintf(one, sizeof(one), "%.*s", (int)n, p);
		expand_origin(one, origin, dir, sizeof(dir));
		snprintf(cand, sizeof(cand), "%s/%s", dir, name);
		if (cand[0] == '/' && is_file(lk, cand) && strlen(cand) < len) {
			memcpy(out, cand, strlen(cand) + 1);
			return true;
		}
		p = end != NULL ? end + 1 : NULL;
	}
	return false;
}

/* Resolves one DT_NEEDED name for the object at objpath. */
static int
find_library(struct elf_walk *w, const char *objpath, const char *rpath,
    const char *runpath, const char *name, int depth)
{
	char origin[PATH_MAX], found[PATH_MAX];
	const char *slash = strrchr(objpath, '/');

	snprintf(origin, sizeof(origin), "%.*s", (int)(slash - objpath), objpath);
	if (strchr(name, '/') != NULL) {
		if (sandbox_lookup_realpath(w->lk, name, found, sizeof(found)) != 0)
			return cg_error_set(w->err, "%s needs %s: %s", objpath, name,
			    strerror(errno));
		return walk_file(w, found, depth + 1);
	}
	if ((runpath == NULL &&
	    search_dirs(w->lk, rpath, origin, name, found, sizeof(found))) ||
	    search_dirs(w->lk, runpath, origin, name, found, sizeof(found)))
		return walk_file(w, found, depth + 1);
	for (size_t i = 0; i < w->dirs.n; i++)
		if (search_dirs(w->lk, w->dirs.paths[i], origin, name, found,
		    sizeof(found)))
			return walk_file(w, found, depth + 1);
	return cg_error_set(w->err, "%s needs %s, which was not found", objpath, name);
}

static int
pread_exact(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);

	return n == (ssize_t)len ? 0 : -1;
}

/* Maps a virtual address to a file offset through the PT_LOAD segments. */
static int
vaddr_to_off(const Elf64_Phdr *ph, size_t n, uint64_t vaddr, uint64_t *off)
{
	for (size_t i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && vaddr >= ph[i].p_vaddr &&
		    vaddr - ph[i].p_vaddr < ph[i].p_filesz) {
			*off = ph[i].p_offset + (vaddr - ph[i].p_vaddr);
			return 0;
		}
	return -1;
}

struct elf_dyn_info {
	uint64_t strtab, strsz;
	uint64_t needed[256];
	size_t n_needed;
	int64_t rpath, runpath;         /* string offsets, -1 if absent */
};

static int
read_dynamic(int fd, const Elf64_Phdr *dyn, struct elf_dyn_info *info)
{
	size_t count = dyn->p_filesz / sizeof(Elf64_Dyn);
	Elf64_Dyn *d;

	if (count > ELF_MAX_DYN || (d = malloc(count * sizeof(*d) + 1)) == NULL)
		return -1;
	if (pread_exact(fd, d, count * sizeof(*d), dyn->p_offset) != 0) {
		free(d);
		return -1;
	}
	info->rpath = info->runpath = -1;
	for (size_t i = 0; i < count && d[i].d_tag != DT_NULL; i++) {
		if (d[i].d_tag == DT_STRTAB)
			info->strtab = d[i].d_un.d_ptr;
		else if (d[i].d_tag == DT_STRSZ)
			info->strsz = d[i].d_un.d_val;
		else if (d[i].d_tag == DT_RPATH)
			info->rpath = (int64_t)d[i].d_un.d_val;
		else if (d[i].d_tag == DT_RUNPATH)
			info->runpath = (int64_t)d[i].d_un.d_val;
		else if (d[i].d_tag == DT_NEEDED &&
		    info->n_needed < CG_ARRAY_LEN(info->needed))
			info->needed[info->n_needed++] = d[i].d_un.d_val;
	}
	free(d);
	return 0;
}

/* One string of the dynamic string table, read on its own: the tables of
 * large programs (node's is tens of MB) are never read whole. */
static const char *
read_str(int fd, uint64_t stroff, uint64_t strsz, int64_t off, char *buf, size_t len)
{
	ssize_t n;

	if (off < 0 || (uint64_t)off >= strsz)
		return NULL;
	n = pread(fd, buf, len - 1, (off_t)(stroff + (uint64_t)off));
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	if (strlen(buf) == (size_t)n && (size_t)n == len - 1)
		return NULL;    /* longer than any path we accept */
	return buf;
}

static int
walk_needed(struct elf_walk *w, int fd, const char *path, const Elf64_Phdr *ph,
    size_t n, const Elf64_Phdr *dyn, int depth)
{
	struct elf_dyn_info info = { 0 };
	char rpath[PATH_MAX], runpath[PATH_MAX], name[PATH_MAX];
	const char *rp, *rup;
	uint64_t stroff;
	int rc = 0;

	if (read_dynamic(fd, dyn, &info) != 0 || info.strsz == 0 ||
	    vaddr_to_off(ph, n, info.strtab, &stroff) != 0)
		return cg_error_set(w->err, "%s: malformed dynamic section", path);
	rp = read_str(fd, stroff, info.strsz, info.rpath, rpath, sizeof(rpath));
	rup = read_str(fd, stroff, info.strsz, info.runpath, runpath, sizeof(runpath));
	for (size_t i = 0; i < info.n_needed && rc == 0; i++) {
		const char *lib = read_str(fd, stroff, info.strsz,
		    (int64_t)info.needed[i], name, sizeof(name));

		if (lib == NULL)
			rc = cg_error_set(w->err, "%s: bad DT_NEEDED", path);
		else
			rc = find_library(w, path, rp, rup, lib, depth);
	}
	return rc;
}

static int
walk_elf(struct elf_walk *w, int fd, const char *path, int depth)
{
	Elf64_Phdr ph[ELF_MAX_PHDRS];
	const Elf64_Phdr *dyn = NULL;
	char interp[PATH_MAX];
	Elf64_Ehdr eh;

	if (pread_exact(fd, &eh, sizeof(eh), 0) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum > ELF_MAX_PHDRS ||
	    pread_exact(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff) != 0)
		return cg_error_set(w->err, "%s: not a 64-bit ELF file capgate can read", path);
	if (w->machine == 0)
		w->machine = eh.e_machine;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = &ph[i];
		if (ph[i].p_type != PT_INTERP)
			continue;
		if (ph[i].p_filesz == 0 || ph[i].p_filesz >= sizeof(interp) ||
		    pread_exact(fd, interp, ph[i].p_filesz, ph[i].p_offset) != 0)
			return cg_error_set(w->err, "%s: bad PT_INTERP", path);
		interp[ph[i].p_filesz] = '\0';
		if (walk_file(w, interp, depth + 1) != 0)
			return -1;
	}
	if (dyn == NULL)
		return 0;
	return walk_needed(w, fd, path, ph, eh.e_phnum, dyn, depth);
}

/* "#!interp [arg]": the interpreter, and for /usr/bin/env its argument. */
static int
walk_script(struct elf_walk *w, const char *head, const char *path, int depth)
{
	char line[256], found[PATH_MAX];
	char *interp, *arg;

	snprintf(line, sizeof(line), "%s", head + 2);
	line[strcspn(line, "\r\n")] = '\0';
	interp = line + strspn(line, " \t");
	arg = interp + strcspn(interp, " \t");
	if (*arg != '\0') {
		*arg++ = '\0';
		arg += strspn(arg, " \t");
		arg[strcspn(arg, " \t")] = '\0';
	}
	if (interp[0] != '/')
		return cg_error_set(w->err, "%s: interpreter \"%s\" is not absolute", path, interp);
	if (walk_file(w, interp, depth + 1) != 0)
		return -1;
	if (strcmp(strrchr(interp, '/'), "/env") == 0 && *arg != '\0' && arg[0] != '-') {
		if (search_path(w->lk, w->path_env, arg, found, sizeof(found)) != 0)
			return cg_error_set(w->err, "%s: interpreter %s not found in PATH",
			    path, arg);
		return walk_file(w, found, depth + 1);
	}
	return 0;
}

static int
walk_file(struct elf_walk *w, const char *path, int depth)
{
	char real[PATH_MAX], head[256];
	ssize_t n;
	int fd, rc;

	if (depth > ELF_MAX_DEPTH)
		return cg_error_set(w->err, "%s: dependencies nested too deeply", path);
	/* Walked already, under this name: every ELF file names the same
	 * interpreter, and most the same libc. */
	if (sandbox_path_list_has(w->out, path) ||
	    sandbox_path_list_has(w->refs, path))
		return 0;
	if (sandbox_lookup_realpath(w->lk, path, real, sizeof(real)) != 0)
		return cg_error_set(w->err, "%s: %s", path, strerror(errno));
	if (strcmp(real, path) != 0 && path[0] == '/' &&
	    sandbox_path_list_add(w->refs, path) != 0)
		return cg_error_set(w->err, "out of memory");
	if (sandbox_path_list_has(w->out, real))
		return 0;
	if (add_found(w, real) != 0)
		return -1;
	fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return cg_error_set(w->err, "%s: %s", real, strerror(errno));
	n = pread(fd, head, sizeof(head) - 1, 0);
	if (n < 4) {
		close(fd);
		return cg_error_set(w->err, "%s: too short to be a program", real);
	}
	head[n] = '\0';
	if (head[0] == '#' && head[1] == '!')
		rc = walk_script(w, head, real, depth);
	else if (memcmp(head, ELFMAG, SELFMAG) == 0)
		rc = walk_elf(w, fd, real, depth);
	else
		rc = cg_error_set(w->err, "%s: neither ELF nor a #! script", real);
	close(fd);
	return rc;
}

int
sandbox_elf_resolve(const char *program, const char *const *envp,
    char **resolved, struct cg_path_list *list, struct cg_path_list *refs,
    struct cg_lookup *lk, struct cg_error *err)
{
	struct elf_walk w = { .out = list, .refs = refs, .lk = lk, .err = err,
	    .path_env = "/usr/local/bin:/usr/bin:/bin" };
	char found[PATH_MAX];
	int rc;

	for (size_t i = 0; envp != NULL && envp[i] != NULL; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			w.path_env = envp[i] + 5;
	char real[PATH_MAX];

	if (search_path(lk, w.path_env, program, found, sizeof(found)) != 0 ||
	    sandbox_lookup_realpath(lk, found, real, sizeof(real)) != 0)
		return cg_error_set(err, "program %s: %s", program, strerror(errno));
	*resolved = strdup(real);
	if (*resolved == NULL)
		return cg_error_set(err, "out of memory");
	if (read_ldso_conf(&w.dirs, "/etc/ld.so.conf", 0) != 0)
		return cg_error_set(err, "out of memory");
	for (size_t i = 0; i < CG_ARRAY_LEN(std_lib_dirs); i++)
		if (sandbox_path_list_add(&w.dirs, std_lib_dirs[i]) != 0)
			return cg_error_set(err, "out of memory");
	rc = walk_file(&w, found, 0);
	sandbox_path_list_free(&w.dirs);
	return rc;
}
