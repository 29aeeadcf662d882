/*
 * queue/spool.c - the on-disk spool and its commit protocol.
 *
 * Owns: every file under spool_dir, and the flush mode. Nothing else in
 * homemx creates, renames or unlinks spool files (smtpd only writes into
 * a body file the queue created and handed over as an fd). Layout:
 *
 *	spool_dir/msg/<ID>.msg		body, as smtpd wrote it (CRLF, unstuffed)
 *	spool_dir/msg/<ID>.env		envelope (queue/envelope.h, version 3)
 *	spool_dir/msg/<ID>.msg.tmp	a body being rewritten before its commit
 *					(spool_rewrite_body): garbage if seen
 *	spool_dir/msg/<ID>.env.tmp	a rewrite being written: garbage if
 *					seen at start-up
 *	spool_dir/corrupt/		envelopes that do not parse, or have no
 *					body, with their body: kept for a human
 *
 * ONE flush per commit batch. A message exists once its <ID>.env is whole
 * on disk: the envelope's last line, "end LEN CRC32C", proves that every
 * byte before it arrived, and its "size" record that the body did. The
 * order of one batch of commits (batch.c collects them):
 *	1. smtpd has written the body into <ID>.msg (created here, O_EXCL)
 *	2. write <ID>.env directly in msg/ (O_EXCL), ending with its end record
 *	3. ONE syncfs() of the spool file system, for the whole batch
 *	4. only now reply QUEUE_OK (smtpd says "250 queued as ID")
 *
 * Why one flush suffices: syncfs() writes back every dirty page and inode
 * of the file system, then commits the journal (ext4's jbd2, xfs's log
 * force) and flushes the disk cache. The creation of <ID>.msg and <ID>.env
 * and their names in msg/ are metadata changes in that journal, so when
 * syncfs() returns they are durable together with both files' data and
 * sizes. There is no rename to make durable, hence no second flush (the
 * protocol before this one renamed <ID>.env.tmp into place after the
 * syncfs and had to fsync msg/ again). Since Linux 5.8 syncfs() also
 * reports any writeback error of the file system since our previous call
 * (errseq), so a body page that did not reach the disk fails the batch.
 *
 * The states a crash (a power cut: the disk keeps any subset of what was
 * not flushed yet) can leave of one commit, and what spool_scan() does:
 *	- no file, or <ID>.msg alone (before 2): garbage, deleted.
 *	- <ID>.env empty, cut short, or with pages missing, so that its last
 *	  line is not an end record matching the bytes before it (during 2
 *	  or 3): torn, deleted with its body.
 *	- <ID>.env whole, <ID>.msg shorter than its "size" (the disk kept the
 *	  envelope but not all of the body; a file's size on disk grows only
 *	  as its data is written, on ext4 with its default data=ordered and
 *	  on xfs): torn, deleted too.
 *	- both whole: the message, loaded. If the crash came before 4 the
 *	  client saw no 250 and sends it again: a duplicate, never a loss.
 * Only a commit whose 250 was never sent can be torn, since after step 3
 * both files are whole on disk; that is why a torn commit is deleted. An
 * envelope that is whole (its end record matches) or of version 1 or 2
 * (renamed into place complete by older code) but does not parse, or has
 * no body, was damaged later (an editor, a disk error): it is moved aside
 * to corrupt/, never deleted.
 *
 * A rewrite (next retry time, fewer recipients) must never put a torn file
 * where a whole envelope was, so it is written to <ID>.env.tmp in the same
 * batch, flushed by the same syncfs(), and only then renamed over
 * <ID>.env. Nobody waits for that rename to be durable: it reaches the
 * disk with the next flush or the journal's own timer, and a crash before
 * leaves the old envelope, whose recipients are delivered again (the queue
 * is at-least-once: sched.c).
 *
 * Kernels before 5.8: syncfs() there returns 0 even when writeback failed,
 * so spool_init() reads uname() and falls back to fsync() of each new
 * envelope and of its body, then one fsync() of msg/ for the new names:
 * the same states on disk, one flush per file. The mode is logged.
 *
 * Cost: syncfs() also flushes unrelated dirty data of the same file
 * system; a spool on a file system of its own flushes only mail. On tmpfs
 * every flush is a no-op, which is correct there.
 */
#include <sys/stat.h>
#include <sys/utsname.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "util.h"

#define SPOOL_MSG_DIR		"msg"
#define SPOOL_CORRUPT_DIR	"corrupt"
#define SPOOL_NAME_MAX		(QUEUE_ID_LEN + sizeof(".env.tmp"))
#define SPOOL_CREATE_TRIES	16	/* make_queue_id collisions are rare */

static int	spool_fd = -1;		/* spool_dir */
static int	msg_fd = -1;		/* spool_dir/msg */
static int	corrupt_fd = -1;	/* spool_dir/corrupt */
static char	envelope_buf[ENVELOPE_TEXT_MAX];
static enum spool_flush_mode flush_mode = SPOOL_FLUSH_SYNCFS;
/* syncfs() and fsync() calls so far; the flush of a batch may run in the
 * queue's flusher thread (batch.c), hence atomic. */
static _Atomic unsigned long flush_calls;
static _Thread_local unsigned long flush_calls_here;	/* by this thread */

/* Test faults; the flushes read them from batch.c's threads, hence the lock. */
static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;
static char	fault_op[16];
static int	fault_err;

void
spool_inject_fault(const char *op, int err)
{
	pthread_mutex_lock(&fault_lock);
	snprintf(fault_op, sizeof(fault_op), "%s", op);
	fault_err = err;
	pthread_mutex_unlock(&fault_lock);
}

/* Returns the injected errno for op (once), or 0. */
static int
fault_hit(const char *op)
{
	int err = 0;

	pthread_mutex_lock(&fault_lock);
	if (fault_err != 0 && strcmp(fault_op, op) == 0) {
		err = fault_err;
		fault_err = 0;
	}
	pthread_mutex_unlock(&fault_lock);
	return err;
}

static void
spool_name(char *buf, size_t size, const char *id, const char *suffix)
{
	if (snprintf(buf, size, "%s%s", id, suffix) >= (int)size)
		fatalx("spool_name: id too long");	/* ids are validated */
}

static int
open_subdir(const char *name)
{
	if (mkdirat(spool_fd, name, 0700) == -1 && errno != EEXIST)
		fatal("spool: mkdir %s", name);
	int fd = openat(spool_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		fatal("spool: open %s", name);
	return fd;
}

bool
spool_release_has_syncfs_errors(const char *release)
{
	unsigned long major, minor;
	char *end;

	/* "6.1.0-18-amd64": major.minor, whatever follows. */
	if (!isdigit((unsigned char)release[0]))
		return false;
	errno = 0;
	major = strtoul(release, &end, 10);
	if (*end != '.' || errno != 0 || !isdigit((unsigned char)end[1]))
		return false;
	minor = strtoul(end + 1, &end, 10);
	if (errno != 0)
		return false;
	return major > 5 || (major == 5 && minor >= 8);
}

void
spool_set_flush_mode(enum spool_flush_mode mode)
{
	flush_mode = mode;
}

unsigned long
spool_flush_calls(void)
{
	return flush_calls;
}

unsigned long
spool_flush_calls_here(void)
{
	return flush_calls_here;
}

static void
choose_flush_mode(void)
{
	char release[LOG_ESCAPE_MAX];
	struct utsname u;

	if (uname(&u) == -1)
		fatal("spool: uname");
	log_escape(release, sizeof(release), u.release, strnlen(u.release,
	    sizeof(u.release)));
	if (spool_release_has_syncfs_errors(u.release)) {
		flush_mode = SPOOL_FLUSH_SYNCFS;
		log_event("spool_flush", "mode=syncfs kernel=\"%s\"", release);
	} else {
		flush_mode = SPOOL_FLUSH_FSYNC;
		log_event("spool_flush", "mode=fsync kernel=\"%s\" reason=\"syncfs "
		    "reports writeback errors only from Linux 5.8 on\"", release);
	}
}

void
spool_init(const char *spool_dir)
{
	choose_flush_mode();
	if (mkdir_p(spool_dir, 0700) == -1)
		fatal("spool: mkdir %s", spool_dir);
	spool_fd = open(spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (spool_fd == -1)
		fatal("spool: open %s", spool_dir);
	msg_fd = open_subdir(SPOOL_MSG_DIR);
	corrupt_fd = open_subdir(SPOOL_CORRUPT_DIR);
	/* The new subdirectories must survive a crash too. */
	if (fsync(spool_fd) == -1)
		fatal("spool: fsync %s", spool_dir);
}

void
spool_close(void)
{
	int *fds[] = { &corrupt_fd, &msg_fd, &spool_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] != -1)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int
spool_create_body(char id[QUEUE_ID_SIZE])
{
	char name[SPOOL_NAME_MAX];
	int err;

	if ((err = fault_hit("create")) != 0) {
		errno = err;
		return -1;
	}
	for (int i = 0; i < SPOOL_CREATE_TRIES; i++) {
		make_queue_id(id);
		spool_name(name, sizeof(name), id, ".env");
		if (faccessat(msg_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;	/* an id still in use */
		spool_name(name, sizeof(name), id, ".msg");
		int fd = openat(msg_fd, name,
		    O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

off_t
spool_body_size(const char *id)
{
	char name[SPOOL_NAME_MAX];
	struct stat st;

	spool_name(name, sizeof(name), id, ".msg");
	if (fstatat(msg_fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	return st.st_size;
}

int
spool_open_body(const char *id)
{
	char name[SPOOL_NAME_MAX];

	spool_name(name, sizeof(name), id, ".msg");
	return openat(msg_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

/* Copies [from, to) of in to out. */
static int
copy_span(int in, int out, off_t from, off_t to)
{
	static char buf[64 * 1024];

	while (from < to) {
		size_t want = (size_t)(to - from) < sizeof(buf) ? (size_t)(to - from) : sizeof(buf);
		ssize_t n = pread(in, buf, want, from);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;	/* the body shrank under us */
			return -1;
		}
		if (write_all(out, buf, (size_t)n) == -1)
			return -1;
		from += n;
	}
	return 0;
}

/*
 * A crash between the rename and the commit's flush may leave the old
 * body with an envelope that names the new size: spool_scan() deletes a
 * shorter body as torn and moves a longer one aside, and either way the
 * client never saw 250 for it.
 */
int
spool_rewrite_body(const char *id, const char *prepend, size_t plen,
    const struct byte_range *strip, unsigned nstrip)
{
	char from[SPOOL_NAME_MAX], tmp[SPOOL_NAME_MAX];
	struct stat st;
	off_t at = 0;
	int in, out = -1, err = 0;

	spool_name(from, sizeof(from), id, ".msg");
	spool_name(tmp, sizeof(tmp), id, ".msg.tmp");
	if ((in = openat(msg_fd, from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(in, &st) == -1)
		goto fail;
	(void)unlinkat(msg_fd, tmp, 0);		/* a leftover of a failed try */
	if ((out = openat(msg_fd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		goto fail;
	if (plen > 0 && write_all(out, prepend, plen) == -1)
		goto fail;
	for (unsigned i = 0; i < nstrip; i++) {
		off_t s = strip[i].off, e = s + (off_t)strip[i].len;
		if (s < at || e > st.st_size) {
			errno = EINVAL;		/* the decoder sorted them; the size is ours */
			goto fail;
		}
		if (copy_span(in, out, at, s) == -1)
			goto fail;
		at = e;
	}
	if (copy_span(in, out, at, st.st_size) == -1)
		goto fail;
	if (close(out) == -1) {
		out = -1;
		goto fail;
	}
	out = -1;
	if (renameat(msg_fd, tmp, msg_fd, from) == -1)
		goto fail;
	close(in);
	return 0;
fail:
	err = errno;
	if (out != -1)
		close(out);
	(void)unlinkat(msg_fd, tmp, 0);
	close(in);
	errno = err;
	return -1;
}

static int
unlink_suffix(const char *id, const char *suffix)
{
	char name[SPOOL_NAME_MAX];

	spool_name(name, sizeof(name), id, suffix);
	if (unlinkat(msg_fd, name, 0) == -1 && errno != ENOENT) {
		log_event("spool_error", "op=unlink file=%s errno=\"%s\"", name,
		    strerror(errno));
		return -1;
	}
	return 0;
}

void
spool_discard(const char *id)
{
	(void)unlink_suffix(id, ".env");
	(void)unlink_suffix(id, ".env.tmp");
	(void)unlink_suffix(id, ".msg.tmp");
	(void)unlink_suffix(id, ".msg");
}

int
spool_remove(const char *id)
{
	if (unlink_suffix(id, ".env") == -1)
		return -1;
	return unlink_suffix(id, ".msg");
}

/* ---- group flush -------------------------------------------------------- */

int
spool_write_prepare(struct spool_write *w, enum spool_write_kind kind,
    const struct envelope *e)
{
	size_t len;

	memset(w, 0, sizeof(*w));
	w->kind = kind;
	memcpy(w->id, e->id, sizeof(w->id));
	if (envelope_format(e, envelope_buf, sizeof(envelope_buf), &len) == -1)
		return -1;
	w->text = xmalloc(len);
	memcpy(w->text, envelope_buf, len);
	w->len = len;
	return 0;
}

void
spool_write_release(struct spool_write *w)
{
	free(w->text);
	w->text = NULL;
	w->len = 0;
}

/* The file a write creates: the envelope itself for a commit. */
static const char *
written_suffix(const struct spool_write *w)
{
	return w->kind == SPOOL_WRITE_COMMIT ? ".env" : ".env.tmp";
}

/* Records the first failure of w. */
static void
record_failure(struct spool_write *w, const char *op, int err)
{
	if (w->error != 0)
		return;
	w->error = err;
	w->failed_op = op;
}

/* Records the failure and removes the file w wrote, so that a refused
 * commit leaves no envelope and a failed rewrite the old one. */
static void
write_failed(struct spool_write *w, const char *op, int err)
{
	if (w->error != 0)
		return;
	record_failure(w, op, err);
	(void)unlink_suffix(w->id, written_suffix(w));
}

/* Returns the injected errno for op, or what fsync(fd) sets, or 0. */
static int
fsync_or_fault(int fd, const char *op)
{
	int err;

	flush_calls++;
	flush_calls_here++;
	if ((err = fault_hit(op)) != 0)
		return err;
	return fsync(fd) == -1 ? errno : 0;
}

/* Fallback mode: a new message's body must be on disk before its 250. */
static int
fsync_body(const char *id)
{
	int fd, err;

	if ((fd = spool_open_body(id)) == -1)
		return errno;
	err = fsync_or_fault(fd, "fsync");
	close(fd);
	return err;
}

/* Writes w's text into its file (fsynced in the fallback mode). */
static int
write_envelope(struct spool_write *w)
{
	char name[SPOOL_NAME_MAX];
	int err, fd, flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC;

	/* A commit never overwrites: an id in use means a bug, not a retry. */
	flags |= w->kind == SPOOL_WRITE_COMMIT ? O_CREAT | O_EXCL : O_CREAT | O_TRUNC;
	spool_name(name, sizeof(name), w->id, written_suffix(w));
	if ((fd = openat(msg_fd, name, flags, 0600)) == -1) {
		record_failure(w, "create", errno);	/* not ours to remove */
		return -1;
	}
	const char *op = "write";
	if ((err = fault_hit("write")) == 0 && write_all(fd, w->text, w->len) == -1)
		err = errno;
	if (err == 0 && flush_mode == SPOOL_FLUSH_FSYNC) {
		op = "fsync";
		err = fsync_or_fault(fd, "fsync");
	}
	if (close(fd) == -1 && err == 0) {
		op = "write";
		err = errno;
	}
	if (err == 0 && flush_mode == SPOOL_FLUSH_FSYNC &&
	    w->kind == SPOOL_WRITE_COMMIT) {
		op = "fsync";
		err = fsync_body(w->id);
	}
	if (err != 0) {
		write_failed(w, op, err);
		return -1;
	}
	return 0;
}

/* Marks every item that is still fine as failed in op. */
static void
fail_survivors(struct spool_write_list *list, const char *op, int err)
{
	struct spool_write *w;

	TAILQ_FOREACH(w, list, entry)
		write_failed(w, op, err);
}

/* The one flush of a batch, through dir (an open file of msg/); 0 or an
 * errno value, *op says which call. */
static int
flush_batch(int dir, const char **op)
{
	int err;

	if (flush_mode == SPOOL_FLUSH_SYNCFS) {
		*op = "syncfs";
		flush_calls++;
		flush_calls_here++;
		if ((err = fault_hit("syncfs")) != 0)
			return err;
		return syncfs(dir) == -1 ? errno : 0;
	}
	/* Every file is fsynced already: make their new names durable. */
	*op = "fsync_dir";
	return fsync_or_fault(dir, "fsync_dir");
}

static bool	exists(int dirfd, const char *id, const char *suffix);

/*
 * A rewrite is durable in its tmp file: put it in place - unless the
 * message was removed while its batch was being flushed (the flush runs
 * beside the event loop, batch.c): then the rewrite is moot, and renaming
 * it would bring back an envelope without a body.
 */
static void
rename_update(struct spool_write *w)
{
	char from[SPOOL_NAME_MAX], to[SPOOL_NAME_MAX];
	int err;

	spool_name(from, sizeof(from), w->id, ".env.tmp");
	spool_name(to, sizeof(to), w->id, ".env");
	if (!exists(msg_fd, w->id, ".msg")) {
		(void)unlink_suffix(w->id, ".env.tmp");
		return;
	}
	if ((err = fault_hit("rename")) == 0 &&
	    renameat(msg_fd, from, msg_fd, to) == -1)
		err = errno;
	if (err != 0)
		write_failed(w, "rename", err);
}

unsigned
spool_batch_write(struct spool_write_list *list)
{
	struct spool_write *w;
	unsigned nwritten = 0;

	TAILQ_FOREACH(w, list, entry) {
		w->error = 0;
		w->failed_op = NULL;
		if (write_envelope(w) == 0)
			nwritten++;
	}
	return nwritten;
}

int
spool_batch_flush(const char **op)
{
	return flush_batch(msg_fd, op);
}

int
spool_flush_handle(void)
{
	return openat(msg_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int
spool_batch_flush_on(int handle, const char **op)
{
	return flush_batch(handle, op);
}

void
spool_batch_finish(struct spool_write_list *list, int err, const char *op)
{
	struct spool_write *w;

	if (err != 0) {
		fail_survivors(list, op, err);
		return;
	}
	TAILQ_FOREACH(w, list, entry)
		if (w->error == 0 && w->kind == SPOOL_WRITE_UPDATE)
			rename_update(w);
}

void
spool_write_batch(struct spool_write_list *list)
{
	const char *op = NULL;
	int err = 0;

	if (spool_batch_write(list) > 0)
		err = spool_batch_flush(&op);
	spool_batch_finish(list, err, op);
}

/* ---- start-up scan ------------------------------------------------------ */

static bool
exists(int dirfd, const char *id, const char *suffix)
{
	char name[SPOOL_NAME_MAX];

	spool_name(name, sizeof(name), id, suffix);
	return faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Splits "<ID><suffix>" into id; false if name is not of that shape. */
static bool
name_has_id(const char *name, const char *suffix, char id[QUEUE_ID_SIZE])
{
	size_t len = strlen(name), slen = strlen(suffix);

	if (len != QUEUE_ID_LEN + slen || strcmp(name + QUEUE_ID_LEN, suffix) != 0)
		return false;
	memcpy(id, name, QUEUE_ID_LEN);
	id[QUEUE_ID_LEN] = '\0';
	return queue_id_is_valid(id);
}

void
spool_move_aside(const char *id, const char *why)
{
	const char *suffixes[] = { ".env", ".msg" };
	char name[SPOOL_NAME_MAX];

	for (size_t i = 0; i < 2; i++) {
		spool_name(name, sizeof(name), id, suffixes[i]);
		if (renameat(msg_fd, name, corrupt_fd, name) == -1 && errno != ENOENT)
			log_event("spool_error", "op=move_aside file=%s errno=\"%s\"",
			    name, strerror(errno));
	}
	log_event("spool_error", "op=scan qid=%s reason=\"%s\" action=moved_to_corrupt",
	    id, why);
}

/* Reads <ID>.env into envelope_buf; returns its length or -1. */
static ssize_t
read_envelope(const char *id, const char **why)
{
	char name[SPOOL_NAME_MAX];
	struct stat st;
	size_t n = 0;

	spool_name(name, sizeof(name), id, ".env");
	int fd = openat(msg_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > ENVELOPE_TEXT_MAX) {
		*why = fd == -1 ? "cannot open" : "not a regular file or too big";
		goto fail;
	}
	while (n < sizeof(envelope_buf)) {
		ssize_t r = read(fd, envelope_buf + n, sizeof(envelope_buf) - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			*why = "read error";
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	return (ssize_t)n;
fail:
	if (fd != -1)
		close(fd);
	return -1;
}

enum scan_result { SCAN_LOADED, SCAN_TORN, SCAN_CORRUPT };

/* A commit a crash cut short: its client never saw 250 (see the top). */
static enum scan_result
delete_torn(const char *id, const char *why)
{
	spool_discard(id);
	log_event("spool_torn", "qid=%s reason=\"%s\" action=deleted", id, why);
	return SCAN_TORN;
}

static enum scan_result
move_aside(const char *id, const char *why)
{
	spool_move_aside(id, why);
	return SCAN_CORRUPT;
}

/* The body as the envelope describes it; SCAN_LOADED if it matches. */
static enum scan_result
check_body(const char *id, const struct envelope *e)
{
	char reason[128];
	off_t size = spool_body_size(id);

	if (size == -1) {
		snprintf(reason, sizeof(reason), "envelope without body (%s)",
		    strerror(errno));
		return move_aside(id, reason);
	}
	if (!e->has_body_size || (uint64_t)size == e->body_size)
		return SCAN_LOADED;
	snprintf(reason, sizeof(reason), "body has %lld bytes, the envelope says %llu",
	    (long long)size, (unsigned long long)e->body_size);
	if ((uint64_t)size < e->body_size)
		return delete_torn(id, reason);
	return move_aside(id, reason);
}

static enum scan_result
scan_envelope(const char *id, void (*load)(struct envelope *, void *),
    void *arg)
{
	struct envelope e;
	const char *why = NULL;
	char reason[128];
	unsigned line;

	ssize_t n = read_envelope(id, &why);
	if (n == -1)
		return move_aside(id, why);
	enum envelope_status st = envelope_parse(envelope_buf, (size_t)n, &e, &line);
	if (st != ENVELOPE_OK) {
		snprintf(reason, sizeof(reason), "%s at line %u",
		    envelope_status_text(st), line);
		if (envelope_is_torn(envelope_buf, (size_t)n))
			return delete_torn(id, reason);
		return move_aside(id, reason);
	}
	if (strcmp(e.id, id) != 0) {
		envelope_free(&e);
		return move_aside(id, "id field does not match file name");
	}
	enum scan_result r = check_body(id, &e);
	if (r != SCAN_LOADED) {
		envelope_free(&e);
		return r;
	}
	load(&e, arg);
	return SCAN_LOADED;
}

static void
scan_entry(const char *name, void (*load)(struct envelope *, void *),
    void *arg, struct spool_scan_stats *stats)
{
	char id[QUEUE_ID_SIZE];

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return;
	if (name_has_id(name, ".env.tmp", id)) {
		(void)unlink_suffix(id, ".env.tmp");
		stats->garbage++;
	} else if (name_has_id(name, ".msg.tmp", id)) {
		(void)unlink_suffix(id, ".msg.tmp");	/* a rewrite cut short */
		stats->garbage++;
	} else if (name_has_id(name, ".msg", id)) {
		/* (Gone already if its envelope was torn.) */
		if (!exists(msg_fd, id, ".env") && exists(msg_fd, id, ".msg")) {
			(void)unlink_suffix(id, ".msg");
			stats->garbage++;
		}
	} else if (name_has_id(name, ".env", id)) {
		switch (scan_envelope(id, load, arg)) {
		case SCAN_LOADED:
			stats->loaded++;
			break;
		case SCAN_TORN:
			stats->torn++;
			break;
		case SCAN_CORRUPT:
			stats->corrupt++;
			break;
		}
	} else {
		char esc[LOG_ESCAPE_MAX];
		log_warnx("spool: leaving unknown file msg/%s alone",
		    log_escape(esc, sizeof(esc), name, strlen(name)));
		stats->unknown++;
	}
}

void
spool_scan(void (*load)(struct envelope *, void *), void *arg,
    struct spool_scan_stats *stats)
{
	struct dirent *de;
	DIR *d;
	int fd;

	memset(stats, 0, sizeof(*stats));
	if ((fd = dup(msg_fd)) == -1 || (d = fdopendir(fd)) == NULL)
		fatal("spool: opendir msg");
	rewinddir(d);
	while ((errno = 0, de = readdir(d)) != NULL)
		scan_entry(de->d_name, load, arg, stats);
	if (errno != 0)
		fatal("spool: readdir msg");
	closedir(d);
	if (stats->garbage > 0 || stats->torn > 0 || stats->corrupt > 0)
		(void)fsync(msg_fd);
}
