/* DeepZoom's real-time OBS callbacks in C: OBS calls these on its graphics, media and audio threads while
 * it holds source locks, so they must never wait for Python's GIL. They copy frames and audio blocks into
 * buffers shared with Python workers (numpy views over the same memory), hand back the processed result of
 * that exact frame/block when it is ready, and otherwise pass the input through; they never block on a
 * worker (except for an optional, bounded render budget).
 *
 * libobs is not linked: Python resolves the libobs functions of the running process and passes their
 * addresses in `struct dz_api` (dz_init). Python owns the lifetime of every object made here.
 *
 * Three objects:
 *   dz_video: one video filter. Async sources (webcams, media): filter_video holds each frame and releases
 *             it a fixed number of frames later, processed if its own result is ready (frame-exact).
 *             Other sources: video_render reads the target back once per frame (or takes the CPU output
 *             of a DeepZoom filter right below it: one readback per chain), hands it to the worker and
 *             draws the newest result of the same size.
 *   dz_audio: one audio filter. filter_audio appends the block to an input ring and writes back the output
 *             `latency` samples behind: the worker's processed samples where ready, else the input delayed
 *             by the model's own delay (the timing never changes).
 *   dz_tap:   an audio capture callback that keeps a mono ring of another source's sound. */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sem_clockwait */
#endif
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
typedef SRWLOCK dz_mutex;
#define EXPORT __declspec(dllexport)
static void mutex_init(dz_mutex *m) { InitializeSRWLock(m); }
static void mutex_lock(dz_mutex *m) { AcquireSRWLockExclusive(m); }
static void mutex_unlock(dz_mutex *m) { ReleaseSRWLockExclusive(m); }
static bool mutex_trylock(dz_mutex *m) { return TryAcquireSRWLockExclusive(m) != 0; }
static uint64_t now_ns(void)
{
	LARGE_INTEGER f, t;
	QueryPerformanceFrequency(&f);
	QueryPerformanceCounter(&t);
	return (uint64_t)((double)t.QuadPart * 1e9 / (double)f.QuadPart);
}
#else
#include <pthread.h>
#include <time.h>
typedef pthread_mutex_t dz_mutex;
#define EXPORT __attribute__((visibility("default")))
static void mutex_init(dz_mutex *m) { pthread_mutex_init(m, NULL); }
static void mutex_lock(dz_mutex *m) { pthread_mutex_lock(m); }
static void mutex_unlock(dz_mutex *m) { pthread_mutex_unlock(m); }
static bool mutex_trylock(dz_mutex *m) { return pthread_mutex_trylock(m) == 0; }
static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
#endif

/* a counting event that OBS's threads post without ever blocking (no mutex), and a worker waits on */
#if defined(_WIN32)
typedef HANDLE dz_event;
static void event_init(dz_event *e) { *e = CreateSemaphoreA(NULL, 0, 1 << 30, NULL); }
static void event_free(dz_event *e) { CloseHandle(*e); }
static void event_post(dz_event *e) { ReleaseSemaphore(*e, 1, NULL); }
static void event_wait_ms(dz_event *e, int ms) { WaitForSingleObject(*e, (DWORD)ms); }
#elif defined(__APPLE__)
#include <dispatch/dispatch.h>
typedef dispatch_semaphore_t dz_event;
static void event_init(dz_event *e) { *e = dispatch_semaphore_create(0); }
static void event_free(dz_event *e) { dispatch_release(*e); }
static void event_post(dz_event *e) { dispatch_semaphore_signal(*e); }
static void event_wait_ms(dz_event *e, int ms)
{
	dispatch_semaphore_wait(*e, dispatch_time(DISPATCH_TIME_NOW, (int64_t)ms * 1000000));
}
#else
#include <errno.h>
#include <semaphore.h>
typedef sem_t dz_event;
static void event_init(dz_event *e) { sem_init(e, 0, 0); }
static void event_free(dz_event *e) { sem_destroy(e); }
static void event_post(dz_event *e) { sem_post(e); }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 30))
#define DZ_CLOCK CLOCK_MONOTONIC /* a wall-clock step never lengthens a wait */
#define DZ_SEM_WAIT(e, ts) sem_clockwait(e, CLOCK_MONOTONIC, ts)
#else
#define DZ_CLOCK CLOCK_REALTIME
#define DZ_SEM_WAIT(e, ts) sem_timedwait(e, ts)
#endif
static void event_wait_ms(dz_event *e, int ms)
{
	struct timespec ts;
	clock_gettime(DZ_CLOCK, &ts);
	uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)ms * 1000000ull;
	ts.tv_sec += (time_t)(ns / 1000000000ull);
	ts.tv_nsec = (long)(ns % 1000000000ull);
	while (DZ_SEM_WAIT(e, &ts) == -1 && errno == EINTR) {
	}
}
#endif

#define MAX_AV_PLANES 8
#define SOURCE_ASYNC (1u << 2)
#define SOURCE_CUSTOM_DRAW (1u << 3)
#define GS_RGBA 3
#define GS_DYNAMIC (1u << 1)
#define GS_CLEAR_COLOR (1u << 0)
#define GS_BLEND_ZERO 0
#define GS_BLEND_ONE 1

/* ---- libobs structs (obs.h / media-io; the same layout in OBS 29 to 32) ---- */
struct obs_source_frame {
	uint8_t *data[MAX_AV_PLANES];
	uint32_t linesize[MAX_AV_PLANES];
	uint32_t width, height;
	uint64_t timestamp;
	int format;
	float color_matrix[16];
	bool full_range;
	uint16_t max_luminance;
	float color_range_min[3], color_range_max[3];
	bool flip;
	uint8_t flags, trc;
	volatile long refs;
	bool prev_frame;
};
struct obs_audio_data {
	uint8_t *data[MAX_AV_PLANES];
	uint32_t frames;
	uint64_t timestamp;
};
struct vec4 {
	float x, y, z, w;
} __attribute__((aligned(16)));

/* ---- the libobs functions we call, resolved by Python in the running process ---- */
struct dz_api {
	void *(*filter_get_target)(void *);
	void *(*filter_get_parent)(void *);
	uint32_t (*source_get_output_flags)(void *);
	uint32_t (*source_get_base_width)(void *);
	uint32_t (*source_get_base_height)(void *);
	void (*source_video_render)(void *);
	void (*source_default_render)(void *);
	void (*source_skip_video_filter)(void *);
	bool (*source_enabled)(void *);
	void (*source_release_frame)(void *, void *);
	uint64_t (*get_video_frame_time)(void);
	void *(*texrender_create)(int, int);
	void (*texrender_reset)(void *);
	bool (*texrender_begin)(void *, uint32_t, uint32_t);
	void (*texrender_end)(void *);
	void *(*texrender_get_texture)(void *);
	void (*texrender_destroy)(void *);
	void *(*stagesurface_create)(uint32_t, uint32_t, int);
	void (*stagesurface_destroy)(void *);
	void (*stage_texture)(void *, void *);
	bool (*stagesurface_map)(void *, uint8_t **, uint32_t *);
	void (*stagesurface_unmap)(void *);
	void *(*texture_create)(uint32_t, uint32_t, int, uint32_t, const uint8_t **, uint32_t);
	void (*texture_destroy)(void *);
	void (*texture_set_image)(void *, const uint8_t *, uint32_t, bool);
	void (*gs_clear)(uint32_t, const struct vec4 *, float, uint8_t);
	void (*gs_ortho)(float, float, float, float, float, float);
	void (*blend_state_push)(void);
	void (*blend_state_pop)(void);
	void (*blend_function)(int, int);
	bool (*framebuffer_srgb_enabled)(void);
	void (*enable_framebuffer_srgb)(bool);
	void *(*get_base_effect)(int);
	void *(*effect_get_param_by_name)(void *, const char *);
	void (*effect_set_texture)(void *, void *);
	bool (*effect_loop)(void *, const char *);
	void (*draw_sprite)(void *, uint32_t, uint32_t, uint32_t);
	void (*blog)(int, const char *, ...);
	void *(*get_source_by_name)(const char *);
	void (*source_release)(void *);
	const char *(*data_get_string)(void *, const char *);
	void (*data_set_string)(void *, const char *, const char *);
	void (*data_set_bool)(void *, const char *, bool);
	void (*data_set_double)(void *, const char *, double);
	void *(*data_create_from_json)(const char *);
	void (*data_apply)(void *, void *);
	void (*data_release)(void *);
};
static struct dz_api api;
static _Atomic int api_ready;

EXPORT int dz_abi_version(void) { return 6; }

/* ---- the OBS threads that call our real-time callbacks (graphics, media, audio): Python asks whether one
 * of its own callbacks runs on one of them, i.e. whether an OBS real-time thread had to take the GIL ---- */
#if defined(_WIN32)
static uint64_t thread_id(void) { return (uint64_t)GetCurrentThreadId(); }
#elif defined(__APPLE__)
static uint64_t thread_id(void)
{
	uint64_t id = 0;
	pthread_threadid_np(NULL, &id);
	return id;
}
#else
#include <sys/syscall.h>
#include <unistd.h>
static uint64_t thread_id(void) { return (uint64_t)syscall(SYS_gettid); }
#endif
#define HOT_THREADS 64
static _Atomic uint64_t hot[HOT_THREADS];
static _Thread_local int hot_known;

static void note_hot_thread(void)
{
	if (hot_known)
		return;
	hot_known = 1;
	uint64_t id = thread_id();
	for (int i = 0; i < HOT_THREADS; i++) {
		uint64_t cur = atomic_load(&hot[i]);
		if (cur == id)
			return;
		if (cur == 0 && atomic_compare_exchange_strong(&hot[i], &cur, id))
			return;
	}
}

EXPORT int dz_is_hot_thread(uint64_t id)
{
	for (int i = 0; i < HOT_THREADS; i++)
		if (atomic_load(&hot[i]) == id)
			return 1;
	return 0;
}
EXPORT void dz_init(const struct dz_api *a)
{
	api = *a;
	atomic_store(&api_ready, 1);
}

/* obs_source_info.get_name: the display name is the kind's type_data */
EXPORT const char *dz_get_name(void *type_data) { return type_data; }

/* one line in OBS's log: blog is variadic, so it is called from C, where the compiler knows it */
EXPORT void dz_log(int level, const char *message)
{
	if (atomic_load(&api_ready) && api.blog && message)
		api.blog(level, "[deepzoom] %s", message);
}

/* ======================================================================================================
 * Video
 * ====================================================================================================== */
enum { S_FREE, S_FILLING, S_READY, S_BUSY, S_DONE, S_FAILED, S_ABANDONED };
enum { F_I420 = 1, F_NV12 = 2, F_YVYU = 3, F_YUY2 = 4, F_UYVY = 5, F_RGBA = 6, F_BGRA = 7, F_BGRX = 8, F_I444 = 10 };
#define NSLOTS 10
#define MAX_HOLD 8

/* what a worker gets for one frame (ctypes mirrors it: native.py Job) */
struct dz_job {
	int32_t slot;
	int32_t format; /* enum video_format; RGBA for the render path */
	uint32_t width, height;
	uint64_t seq;
	uint8_t *data; /* input planes, one after another */
	uint8_t *out;  /* where the result goes: == data (async: in place) or a separate RGBA buffer (render) */
	uint32_t linesize[MAX_AV_PLANES];
	uint32_t offset[MAX_AV_PLANES];
	uint32_t rows[MAX_AV_PLANES];
	int32_t planes;
	int32_t render; /* 1: RGBA from the render path */
};

struct slot {
	_Atomic int state;
	struct dz_job job;
	size_t cap, out_cap;
	uint8_t *out_buf;
};

/* counters (ctypes mirrors the order: native.py VIDEO_STATS) */
enum {
	V_FRAMES_IN,    /* async frames given to filter_video */
	V_FRAMES_OUT,   /* async frames released */
	V_APPLIED,      /* frames shown with their effect (async: their own result; render: a fresh-enough one) */
	V_PASSED,       /* frames shown without the effect */
	V_DROPPED,      /* async frames dropped because their result was late */
	V_SUBMITTED,    /* jobs handed to the worker */
	V_DONE,         /* jobs finished by the worker */
	V_FAILED,       /* jobs the worker could not process */
	V_ABANDONED,    /* jobs whose frame left before their result */
	V_RENDERS,      /* render-path frames (once per OBS frame) */
	V_READBACKS,    /* GPU -> CPU copies */
	V_UPLOADS,      /* CPU -> GPU copies */
	V_CHAINED,      /* frames taken from the DeepZoom filter below (no readback) */
	V_SIZE_DROPS,   /* results dropped because the source changed size */
	V_NATIVE_NS,    /* time spent in our callbacks on OBS's threads */
	V_WAIT_NS,      /* of which waiting for a result (render budget) */
	V_READBACK_NS,  /* of which rendering the target and copying it to the CPU */
	V_UPLOAD_NS,    /* of which copying results to the GPU */
	V_SYNTHETIC,    /* frames drawn from a concealed picture (an async source that sent nothing) */
	V_NSTATS
};

struct dz_video {
	void *context;
	dz_event work, done; /* posted when a job is submitted / finished */
	struct slot slots[NSLOTS];
	_Atomic int closed, active, latency, drop_late, budget_us, max_age;
	_Atomic uint64_t settings_gen; /* bumped by update (OBS calls it on the graphics thread for video) */
	_Atomic uint64_t stats[V_NSTATS];
	uint64_t seq;
	/* async hold queue (graphics thread only) */
	void *held[MAX_HOLD + 1];
	int held_slot[MAX_HOLD + 1];
	int nheld, late_run;
	uint64_t last_ts;
	uint32_t held_w, held_h;
	int held_format;
	bool started;
	/* render path (graphics thread only) */
	void *texrender, *stage, *texture;
	uint32_t gw, gh, tw, th;
	uint64_t produced_at;
	const uint8_t *produced;
	uint32_t pw, ph;
	int shown, own_readback;
	uint64_t frame; /* OBS frames this filter produced */
	uint64_t tex_key; /* what the texture holds: a result's seq, or the frame time | 1 << 63 (an input) */
	char *info;       /* JSON the worker publishes for remote readers (vendor requests); under reg_lock */
	uint64_t info_ns; /* when it was published */
	_Atomic uint64_t resets; /* remote requests to start the statistics over */
	/* concealment: a picture the worker made while an async source sends no frames (dropout concealment) */
	_Atomic uint64_t last_in_ns; /* when filter_video last got a frame (0: never) */
	_Atomic uint64_t last_render_ns; /* when video_render was last called (the source is being shown) */
	_Atomic int syn_on;          /* drawn in place of the source's last async frame until a frame goes out */
	dz_mutex syn_lock;           /* guards syn_buf, syn_w, syn_h, syn_seq (the graphics thread only tries it) */
	uint8_t *syn_buf;
	size_t syn_cap;
	uint32_t syn_w, syn_h;
	uint64_t syn_seq, syn_drawn; /* syn_drawn: what the texture holds (graphics thread) */
	_Atomic int frame_format;    /* the last async frame's format and YUV -> RGB matrix (bits of its floats) */
	_Atomic uint32_t frame_matrix[16];
	struct dz_video *next; /* registry of live filters (chain lookups) */
};

static dz_mutex reg_lock;
static _Atomic int reg_init;
static struct dz_video *reg_head;

static void registry_lock(void)
{
	int expect = 0;
	if (atomic_compare_exchange_strong(&reg_init, &expect, 1)) {
		mutex_init(&reg_lock);
		atomic_store(&reg_init, 2);
	}
	while (atomic_load(&reg_init) != 2) {
	}
	mutex_lock(&reg_lock);
}

static struct dz_video *registry_find(void *context)
{
	struct dz_video *found = NULL;
	registry_lock();
	for (struct dz_video *v = reg_head; v; v = v->next)
		if (v->context == context && !atomic_load(&v->closed)) {
			found = v;
			break;
		}
	mutex_unlock(&reg_lock);
	return found;
}

static void stat_add(struct dz_video *v, int k, uint64_t n) { atomic_fetch_add(&v->stats[k], n); }

EXPORT struct dz_video *dz_video_new(void *context)
{
	struct dz_video *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->context = context;
	event_init(&v->work);
	event_init(&v->done);
	atomic_store(&v->latency, 2);
	atomic_store(&v->drop_late, 1);
	atomic_store(&v->max_age, 2);
	v->shown = -1;
	mutex_init(&v->syn_lock);
	registry_lock();
	v->next = reg_head;
	reg_head = v;
	mutex_unlock(&reg_lock);
	return v;
}

EXPORT void dz_video_configure(struct dz_video *v, int active, int latency_frames, int drop_late, int budget_us,
			       int max_age)
{
	if (!v)
		return;
	if (latency_frames < 1)
		latency_frames = 1;
	if (latency_frames > MAX_HOLD)
		latency_frames = MAX_HOLD;
	atomic_store(&v->latency, latency_frames);
	atomic_store(&v->drop_late, drop_late);
	atomic_store(&v->budget_us, budget_us < 0 ? 0 : budget_us);
	atomic_store(&v->max_age, max_age < 0 ? 0 : max_age);
	atomic_store(&v->active, active);
}

EXPORT void dz_video_stats(struct dz_video *v, uint64_t *out, int n)
{
	if (!v)
		return;
	for (int i = 0; i < n && i < V_NSTATS; i++)
		out[i] = atomic_load(&v->stats[i]);
}


/* Worker side: wait up to timeout_ms for the newest READY job and claim it. 1: job, 0: none, -1: closed. */
EXPORT int dz_video_wait(struct dz_video *v, struct dz_job *job, int timeout_ms, uint64_t settings_gen)
{
	if (!v || !job)
		return -1;
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		if (atomic_load(&v->closed))
			return -1;
		if (atomic_load(&v->settings_gen) != settings_gen)
			return 0; /* the worker reads the new settings first */
		int best = -1;
		uint64_t best_seq = 0;
		for (int i = 0; i < NSLOTS; i++)
			if (atomic_load(&v->slots[i].state) == S_READY && (best < 0 || v->slots[i].job.seq > best_seq)) {
				best = i;
				best_seq = v->slots[i].job.seq;
			}
		if (best >= 0) {
			int expect = S_READY;
			if (atomic_compare_exchange_strong(&v->slots[best].state, &expect, S_BUSY)) {
				*job = v->slots[best].job;
				return 1;
			}
			continue;
		}
		uint64_t t = now_ns();
		if (t >= deadline)
			return 0;
		event_wait_ms(&v->work, (int)((deadline - t) / 1000000ull) + 1);
	}
}

/* Worker side: ms since filter_video last got a frame (-1: never). */
EXPORT int64_t dz_video_idle_ms(struct dz_video *v)
{
	uint64_t at = v ? atomic_load(&v->last_in_ns) : 0;
	return at ? (int64_t)((now_ns() - at) / 1000000ull) : -1;
}

/* Worker side: ms since the filter was last drawn (-1: never); a source shown nowhere is not drawn. */
EXPORT int64_t dz_video_unseen_ms(struct dz_video *v)
{
	uint64_t at = v ? atomic_load(&v->last_render_ns) : 0;
	return at ? (int64_t)((now_ns() - at) / 1000000ull) : -1;
}

/* Worker side: show this w x h RGBA picture in place of the async source's frames, if none came for
 * min_idle_ms (a frame that arrived meanwhile wins: 0 is returned); until a frame goes out again. */
EXPORT int dz_video_conceal(struct dz_video *v, const uint8_t *rgba, uint32_t w, uint32_t h, int min_idle_ms)
{
	if (!v || !rgba || w < 16 || h < 16 || w > 16384 || h > 16384 || atomic_load(&v->closed))
		return 0;
	size_t size = (size_t)w * h * 4;
	mutex_lock(&v->syn_lock);
	int64_t idle = dz_video_idle_ms(v);
	int ok = idle >= 0 && idle >= min_idle_ms;
	if (ok && size > v->syn_cap) {
		uint8_t *buf = realloc(v->syn_buf, size);
		ok = buf != NULL;
		if (buf)
			v->syn_buf = buf, v->syn_cap = size;
	}
	if (ok) {
		uint64_t seen = atomic_load(&v->last_in_ns);
		memcpy(v->syn_buf, rgba, size);
		v->syn_w = w, v->syn_h = h;
		v->syn_seq++;
		atomic_store(&v->syn_on, 1);
		if (atomic_load(&v->last_in_ns) != seen) { /* a frame came meanwhile: it may have gone out already */
			atomic_store(&v->syn_on, 0);
			ok = 0;
		}
	}
	mutex_unlock(&v->syn_lock);
	return ok;
}

/* Worker side: the last async frame's format (0: none yet) and its YUV -> RGB matrix (16 floats, row-major). */
EXPORT int dz_video_frame_color(struct dz_video *v, float *matrix)
{
	if (!v || !matrix)
		return 0;
	for (int i = 0; i < 16; i++) {
		uint32_t bits = atomic_load(&v->frame_matrix[i]);
		memcpy(&matrix[i], &bits, sizeof(bits));
	}
	return atomic_load(&v->frame_format);
}

/* Worker side: stop showing the concealed picture (the effect was turned off). */
EXPORT void dz_video_conceal_off(struct dz_video *v)
{
	if (v)
		atomic_store(&v->syn_on, 0);
}

/* obs_source_info.update of video filters: libobs defers it to the graphics thread (obs_source_video_tick,
 * with its sources mutex held), so it only tells the worker, which reads the settings itself */
EXPORT void dz_video_update(void *data, void *settings)
{
	(void)settings;
	struct dz_video *v = data;
	if (!v)
		return;
	note_hot_thread();
	atomic_fetch_add(&v->settings_gen, 1);
	event_post(&v->work);
}

EXPORT uint64_t dz_video_settings_gen(struct dz_video *v) { return v ? atomic_load(&v->settings_gen) : 0; }

/* Worker side: the job's result is in job.out (ok=1) or it could not be made (ok=0). */
EXPORT void dz_video_finish(struct dz_video *v, int slot, int ok)
{
	if (!v)
		return;
	if (slot < 0 || slot >= NSLOTS)
		return;
	int expect = S_BUSY;
	if (atomic_compare_exchange_strong(&v->slots[slot].state, &expect, ok ? S_DONE : S_FAILED)) {
		stat_add(v, ok ? V_DONE : V_FAILED, 1);
	} else if (expect == S_ABANDONED) {
		atomic_store(&v->slots[slot].state, S_FREE);
	}
	event_post(&v->done);
}

/* A free slot for new input, made big enough (graphics thread); -1 if none. */
static int take_slot(struct dz_video *v, size_t size, size_t out_size)
{
	int pick = -1;
	uint64_t oldest = UINT64_MAX;
	for (int i = 0; i < NSLOTS; i++) {
		int st = atomic_load(&v->slots[i].state);
		if (i == v->shown)
			continue;
		if (st == S_FREE || st == S_FAILED) {
			pick = i;
			break;
		}
		/* an unclaimed older job is replaced: the worker only ever wants the newest */
		if (st == S_READY && v->slots[i].job.seq < oldest && !v->nheld) {
			pick = i;
			oldest = v->slots[i].job.seq;
		}
	}
	if (pick < 0)
		return -1;
	struct slot *s = &v->slots[pick];
	int expect = atomic_load(&s->state);
	if (expect != S_FREE && expect != S_FAILED && expect != S_READY)
		return -1;
	if (!atomic_compare_exchange_strong(&s->state, &expect, S_FILLING))
		return -1;
	if (s->cap < size) {
		uint8_t *p = realloc(s->job.data, size);
		if (!p) {
			atomic_store(&s->state, S_FREE);
			return -1;
		}
		s->job.data = p;
		s->cap = size;
	}
	if (out_size && s->out_cap < out_size) {
		uint8_t *p = realloc(s->out_buf, out_size);
		if (!p) {
			atomic_store(&s->state, S_FREE);
			return -1;
		}
		s->out_buf = p;
		s->out_cap = out_size;
	}
	return pick;
}

static void submit(struct dz_video *v, int i)
{
	v->slots[i].job.seq = ++v->seq;
	v->slots[i].job.slot = i;
	atomic_store(&v->slots[i].state, S_READY);
	stat_add(v, V_SUBMITTED, 1);
	event_post(&v->work);
}

/* rows and bytes per row of each plane of a raw frame format; 0 if unsupported */
static int plane_layout(int fmt, uint32_t w, uint32_t h, uint32_t rows[3], uint32_t bytes[3])
{
	bool subsampled = fmt == F_I420 || fmt == F_NV12 || fmt == F_YUY2 || fmt == F_UYVY || fmt == F_YVYU;
	if (subsampled && (w % 2 || ((fmt == F_I420 || fmt == F_NV12) && h % 2)))
		return 0; /* odd sizes of subsampled formats pass through (the colour conversions need even ones) */
	switch (fmt) {
	case F_I420:
		rows[0] = h, rows[1] = rows[2] = h / 2, bytes[0] = w, bytes[1] = bytes[2] = w / 2;
		return 3;
	case F_NV12:
		rows[0] = h, rows[1] = h / 2, bytes[0] = bytes[1] = w;
		return 2;
	case F_I444:
		rows[0] = rows[1] = rows[2] = h, bytes[0] = bytes[1] = bytes[2] = w;
		return 3;
	case F_YUY2:
	case F_UYVY:
	case F_YVYU:
		rows[0] = h, bytes[0] = w * 2;
		return 1;
	case F_RGBA:
	case F_BGRA:
	case F_BGRX:
		rows[0] = h, bytes[0] = w * 4;
		return 1;
	default:
		return 0;
	}
}

/* give a held frame's slot back; true when its job was still waiting or running (a late result) */
static bool release_slot(struct dz_video *v, int s)
{
	for (;;) {
		int st = atomic_load(&v->slots[s].state);
		if (st == S_BUSY) {
			if (atomic_compare_exchange_strong(&v->slots[s].state, &st, S_ABANDONED))
				return true; /* the worker frees it when it finishes */
		} else if (st == S_READY) {
			if (atomic_compare_exchange_strong(&v->slots[s].state, &st, S_FREE))
				return true;
		} else {
			atomic_store(&v->slots[s].state, S_FREE);
			return false;
		}
	}
}

/* release (not show) every held frame: filter removed, timestamps jumped */
static void flush_held(struct dz_video *v, void *parent)
{
	for (int i = 0; i < v->nheld; i++) {
		if (v->held_slot[i] >= 0)
			release_slot(v, v->held_slot[i]);
		if (parent && v->held[i])
			api.source_release_frame(parent, v->held[i]);
	}
	v->nheld = 0;
	v->late_run = 0;
}

static void copy_planes_into_frame(struct obs_source_frame *f, const struct dz_job *j)
{
	for (int p = 0; p < j->planes; p++) {
		uint32_t ls = j->linesize[p] < f->linesize[p] ? j->linesize[p] : f->linesize[p];
		if (j->linesize[p] == f->linesize[p]) {
			memcpy(f->data[p], j->out + j->offset[p], (size_t)ls * j->rows[p]);
		} else {
			for (uint32_t r = 0; r < j->rows[p]; r++)
				memcpy(f->data[p] + (size_t)r * f->linesize[p], j->out + j->offset[p] + (size_t)r * j->linesize[p],
				       ls);
		}
	}
}

static struct obs_source_frame *filter_frame(struct dz_video *v, struct obs_source_frame *frame)
{
	if (!v || !frame || !atomic_load(&api_ready) || atomic_load(&v->closed))
		return frame;
	note_hot_thread();
	uint64_t t0 = now_ns();
	atomic_store(&v->last_in_ns, t0);
	void *parent = api.filter_get_parent(v->context);
	stat_add(v, V_FRAMES_IN, 1);
	/* The first frame, a seek, a loop, a pause or a sparse source (a still picture in a media source sends one
	 * frame): held frames are dropped and this one is shown as it is, now, rather than held for frames that
	 * may never come. A change of size or format: libobs drops its cache's hold on older frames, so ours go
	 * back first. */
	bool gap = !v->started || frame->timestamp < v->last_ts || frame->timestamp - v->last_ts > 250000000ull;
	v->started = true;
	bool changed = v->nheld && (frame->width != v->held_w || frame->height != v->held_h ||
				    frame->format != v->held_format);
	v->last_ts = frame->timestamp;
	for (int i = 0; i < 16; i++) { /* for the worker's concealed pictures, drawn as RGBA: the same colours */
		uint32_t bits;
		memcpy(&bits, &frame->color_matrix[i], sizeof(bits));
		atomic_store(&v->frame_matrix[i], bits);
	}
	atomic_store(&v->frame_format, frame->format);
	if (gap || changed) {
		flush_held(v, parent);
		/* frames back after a concealed dropout are held and processed like any (the effect fades back
		 * from its picture); the concealed picture stays until the first of them goes out */
		if (gap && !atomic_load(&v->syn_on)) {
			stat_add(v, V_FRAMES_OUT, 1);
			stat_add(v, V_PASSED, 1);
			stat_add(v, V_NATIVE_NS, now_ns() - t0);
			return frame;
		}
	}
	int latency = atomic_load(&v->latency);
	while (v->nheld > latency) { /* the latency was lowered: the oldest extra frames go back unshown */
		if (v->held_slot[0] >= 0)
			release_slot(v, v->held_slot[0]);
		if (parent)
			api.source_release_frame(parent, v->held[0]);
		v->nheld--;
		memmove(v->held, v->held + 1, sizeof(v->held[0]) * (size_t)v->nheld);
		memmove(v->held_slot, v->held_slot + 1, sizeof(v->held_slot[0]) * (size_t)v->nheld);
		stat_add(v, V_DROPPED, 1);
	}
	v->held_w = frame->width, v->held_h = frame->height, v->held_format = frame->format;

	uint32_t rows[3], bytes[3];
	int np = plane_layout(frame->format, frame->width, frame->height, rows, bytes);
	bool usable = np && frame->width >= 16 && frame->height >= 16 && atomic_load(&v->active);
	for (int p = 0; usable && p < np; p++)
		usable = frame->data[p] && frame->linesize[p] >= bytes[p];
	if (!usable && !v->nheld) {
		stat_add(v, V_FRAMES_OUT, 1);
		stat_add(v, V_PASSED, 1);
		stat_add(v, V_NATIVE_NS, now_ns() - t0);
		return frame;
	}
	int s = -1;
	if (usable) {
		size_t size = 0;
		for (int p = 0; p < np; p++)
			size += (size_t)frame->linesize[p] * rows[p];
		s = take_slot(v, size, 0);
		if (s >= 0) {
			struct dz_job *j = &v->slots[s].job;
			size_t off = 0;
			for (int p = 0; p < np; p++) {
				j->offset[p] = (uint32_t)off;
				j->linesize[p] = frame->linesize[p];
				j->rows[p] = rows[p];
				memcpy(j->data + off, frame->data[p], (size_t)frame->linesize[p] * rows[p]);
				off += (size_t)frame->linesize[p] * rows[p];
			}
			j->planes = np;
			j->format = frame->format;
			j->width = frame->width;
			j->height = frame->height;
			j->out = j->data;
			j->render = 0;
			submit(v, s);
		}
	}
	v->held[v->nheld] = frame;
	v->held_slot[v->nheld] = s;
	v->nheld++;
	if (v->nheld <= latency) {
		stat_add(v, V_NATIVE_NS, now_ns() - t0);
		return NULL; /* held: OBS keeps showing the previous frame */
	}
	struct obs_source_frame *out = v->held[0];
	int hs = v->held_slot[0];
	v->nheld--;
	memmove(v->held, v->held + 1, sizeof(v->held[0]) * (size_t)v->nheld);
	memmove(v->held_slot, v->held_slot + 1, sizeof(v->held_slot[0]) * (size_t)v->nheld);
	bool late = false;
	if (hs >= 0) {
		struct slot *sl = &v->slots[hs];
		struct dz_job *j = &sl->job;
		if (atomic_load(&sl->state) == S_DONE && j->width == out->width && j->height == out->height &&
		    j->format == out->format) {
			copy_planes_into_frame(out, j);
			atomic_store(&sl->state, S_FREE);
			stat_add(v, V_APPLIED, 1);
			stat_add(v, V_FRAMES_OUT, 1);
			v->late_run = 0;
			stat_add(v, V_NATIVE_NS, now_ns() - t0);
			return out;
		}
		late = release_slot(v, hs);
		if (late)
			stat_add(v, V_ABANDONED, 1);
	}
	/* a late result: drop the frame (smooth but fewer frames) unless too many in a row were dropped */
	if (late && atomic_load(&v->drop_late) && v->late_run < 4 && parent) {
		v->late_run++;
		api.source_release_frame(parent, out);
		stat_add(v, V_DROPPED, 1);
		stat_add(v, V_NATIVE_NS, now_ns() - t0);
		return NULL;
	}
	v->late_run = 0;
	stat_add(v, V_PASSED, 1);
	stat_add(v, V_FRAMES_OUT, 1);
	stat_add(v, V_NATIVE_NS, now_ns() - t0);
	return out;
}

EXPORT struct obs_source_frame *dz_filter_video(void *data, struct obs_source_frame *frame)
{
	struct dz_video *v = data;
	struct obs_source_frame *out = filter_frame(v, frame);
	if (out && v)
		atomic_store(&v->syn_on, 0); /* a real frame is shown again */
	return out;
}

EXPORT void dz_filter_remove(void *data, void *parent)
{
	struct dz_video *v = data;
	if (v)
		flush_held(v, parent);
}

/* ---- render path ---- */
static void skip_checked(struct dz_video *v)
{
	/* OBS 29 may render a filter once more after its parent was cleared; skipping it then would
	 * dereference the NULL parent */
	if (api.filter_get_parent(v->context) && api.filter_get_target(v->context))
		api.source_skip_video_filter(v->context);
}

static void free_gpu(struct dz_video *v)
{
	if (v->texrender)
		api.texrender_destroy(v->texrender);
	if (v->stage)
		api.stagesurface_destroy(v->stage);
	if (v->texture)
		api.texture_destroy(v->texture);
	v->texrender = v->stage = v->texture = NULL;
	v->gw = v->gh = v->tw = v->th = 0;
	v->tex_key = v->syn_drawn = 0;
}

/* render the target into our texrender and copy it into slot `s` (w x h RGBA, packed rows) */
static bool readback(struct dz_video *v, void *target, void *parent, uint32_t w, uint32_t h, uint8_t *dst)
{
	if (v->gw != w || v->gh != h || !v->texrender || !v->stage) {
		if (v->texrender)
			api.texrender_destroy(v->texrender);
		if (v->stage)
			api.stagesurface_destroy(v->stage);
		v->texrender = api.texrender_create(GS_RGBA, 0);
		v->stage = api.stagesurface_create(w, h, GS_RGBA);
		v->gw = w, v->gh = h;
		if (!v->texrender || !v->stage)
			return false;
	}
	api.texrender_reset(v->texrender);
	if (!api.texrender_begin(v->texrender, w, h))
		return false;
	struct vec4 clear = {0, 0, 0, 0};
	api.gs_clear(GS_CLEAR_COLOR, &clear, 0.0f, 0);
	api.gs_ortho(0.0f, (float)w, 0.0f, (float)h, -100.0f, 100.0f);
	api.blend_state_push();
	api.blend_function(GS_BLEND_ONE, GS_BLEND_ZERO);
	uint32_t pflags = api.source_get_output_flags(parent);
	if (target == parent && !(pflags & SOURCE_CUSTOM_DRAW))
		api.source_default_render(target); /* a plain source draws only inside the default effect */
	else
		api.source_video_render(target);
	api.blend_state_pop();
	api.texrender_end(v->texrender);
	api.stage_texture(v->stage, api.texrender_get_texture(v->texrender));
	uint8_t *ptr = NULL;
	uint32_t ls = 0;
	if (!api.stagesurface_map(v->stage, &ptr, &ls))
		return false;
	bool ok = ptr && ls >= w * 4;
	if (ok) {
		if (ls == w * 4)
			memcpy(dst, ptr, (size_t)w * 4 * h);
		else
			for (uint32_t r = 0; r < h; r++)
				memcpy(dst + (size_t)r * w * 4, ptr + (size_t)r * ls, (size_t)w * 4);
	}
	api.stagesurface_unmap(v->stage);
	stat_add(v, V_READBACKS, 1);
	return ok;
}

static const uint8_t *produce(struct dz_video *v, uint32_t *pw, uint32_t *ph, int depth);

static bool worker_idle(struct dz_video *v)
{
	for (int i = 0; i < NSLOTS; i++) {
		int st = atomic_load(&v->slots[i].state);
		if (st == S_READY || st == S_BUSY || st == S_FILLING)
			return false;
	}
	return true;
}

/* This frame's CPU image of the filter: its newest result no older than max_age frames, else (when it read
 * the frame this time) its input, else NULL. A new frame is read back (or taken from the DeepZoom filter
 * below) only when the worker is free for it: a busy worker costs OBS's thread nothing. */
static const uint8_t *produce(struct dz_video *v, uint32_t *pw, uint32_t *ph, int depth)
{
	uint64_t now = api.get_video_frame_time();
	if (v->produced_at == now) {
		*pw = v->pw, *ph = v->ph;
		return v->produced;
	}
	void *parent = api.filter_get_parent(v->context);
	void *target = api.filter_get_target(v->context);
	if (!parent || !target)
		return NULL;
	uint32_t w = api.source_get_base_width(target), h = api.source_get_base_height(target);
	if (w < 16 || h < 16 || w > 16384 || h > 16384)
		return NULL;
	v->produced_at = now;
	v->produced = NULL;
	v->own_readback = 0;
	v->frame++;
	stat_add(v, V_RENDERS, 1);
	const uint8_t *input = NULL;
	int s = -1;
	if (worker_idle(v)) {
		size_t size = (size_t)w * h * 4;
		s = take_slot(v, size, size);
	}
	if (s >= 0) {
		struct dz_job *j = &v->slots[s].job;
		bool ok = false;
		struct dz_video *below = depth < 8 ? registry_find(target) : NULL;
		if (below && api.source_enabled(target) && atomic_load(&below->active)) {
			uint32_t bw = 0, bh = 0;
			const uint8_t *src = produce(below, &bw, &bh, depth + 1);
			if (src && bw == w && bh == h) {
				memcpy(j->data, src, (size_t)w * h * 4);
				stat_add(v, V_CHAINED, 1);
				ok = true;
			}
		}
		if (!ok) {
			uint64_t tr = now_ns();
			ok = readback(v, target, parent, w, h, j->data);
			v->own_readback = ok;
			stat_add(v, V_READBACK_NS, now_ns() - tr);
		}
		if (!ok) {
			atomic_store(&v->slots[s].state, S_FREE);
			s = -1;
		} else {
			j->format = F_RGBA;
			j->width = w, j->height = h;
			j->planes = 1;
			j->linesize[0] = w * 4;
			j->offset[0] = 0;
			j->rows[0] = h;
			j->out = v->slots[s].out_buf;
			j->render = 1;
			j->slot = s;
			j->seq = v->frame; /* render jobs count frames: a result's age is in frames */
			atomic_store(&v->slots[s].state, S_READY);
			stat_add(v, V_SUBMITTED, 1);
			event_post(&v->work);
			input = j->data; /* the worker reads it but never writes it */
		}
	}
	int budget = atomic_load(&v->budget_us);
	if (budget > 0 && s >= 0) {
		uint64_t tw0 = now_ns(), deadline = tw0 + (uint64_t)budget * 1000ull;
		for (;;) {
			int st = atomic_load(&v->slots[s].state);
			uint64_t t = now_ns();
			if (st == S_DONE || st == S_FAILED || atomic_load(&v->closed) || t >= deadline)
				break;
			event_wait_ms(&v->done, (int)((deadline - t) / 1000000ull) + 1);
		}
		stat_add(v, V_WAIT_NS, now_ns() - tw0);
	}
	/* the newest finished result of this size; older and other-size results are never shown again */
	int best = -1;
	uint64_t best_seq = 0, max_age = (uint64_t)atomic_load(&v->max_age);
	for (int i = 0; i < NSLOTS; i++) {
		struct slot *sl = &v->slots[i];
		if (atomic_load(&sl->state) != S_DONE || !sl->job.render)
			continue;
		if (sl->job.width != w || sl->job.height != h) {
			stat_add(v, V_SIZE_DROPS, 1);
		} else if (best < 0 || sl->job.seq > best_seq) {
			if (best >= 0)
				atomic_store(&v->slots[best].state, S_FREE);
			best = i;
			best_seq = sl->job.seq;
			continue;
		}
		atomic_store(&sl->state, S_FREE);
	}
	bool working = false; /* a newer frame is waiting or being processed: the newest result is still the best */
	for (int i = 0; i < NSLOTS && best >= 0; i++)
		if ((atomic_load(&v->slots[i].state) == S_BUSY || atomic_load(&v->slots[i].state) == S_READY) &&
		    v->slots[i].job.render && v->slots[i].job.seq > best_seq)
			working = true;
	if (working && max_age < 300)
		max_age = 300; /* a slow effect: shown until its next result, but not forever if the worker hangs */
	if (best >= 0 && v->frame - best_seq > max_age) {
		atomic_store(&v->slots[best].state, S_FREE);
		best = -1;
	}
	v->shown = best;
	if (best >= 0) {
		v->produced = v->slots[best].out_buf;
		stat_add(v, V_APPLIED, 1);
	} else {
		v->produced = input;
		stat_add(v, V_PASSED, 1);
	}
	v->pw = w, v->ph = h;
	*pw = w, *ph = h;
	return v->produced;
}

static void draw(void *texture, uint32_t w, uint32_t h)
{
	bool srgb = api.framebuffer_srgb_enabled();
	api.enable_framebuffer_srgb(false);
	void *effect = api.get_base_effect(0);
	api.effect_set_texture(api.effect_get_param_by_name(effect, "image"), texture);
	while (api.effect_loop(effect, "Draw"))
		api.draw_sprite(texture, 0, w, h);
	api.enable_framebuffer_srgb(srgb);
}

/* the worker's concealed picture, uploaded when it changed (if its lock is free now: else the last one) */
static bool draw_synthetic(struct dz_video *v)
{
	if (mutex_trylock(&v->syn_lock)) {
		uint32_t w = v->syn_w, h = v->syn_h;
		if (v->syn_seq && v->syn_seq != v->syn_drawn) {
			if (!v->texture || v->tw != w || v->th != h) {
				if (v->texture)
					api.texture_destroy(v->texture);
				v->texture = api.texture_create(w, h, GS_RGBA, 1, NULL, GS_DYNAMIC);
				v->tw = w, v->th = h;
			}
			if (v->texture) {
				api.texture_set_image(v->texture, v->syn_buf, w * 4, false);
				v->syn_drawn = v->syn_seq;
				stat_add(v, V_UPLOADS, 1);
			}
			v->tex_key = 0; /* the render path's image is no longer in it */
		}
		mutex_unlock(&v->syn_lock);
	}
	if (!v->texture || !v->syn_drawn || v->tex_key)
		return false;
	draw(v->texture, v->tw, v->th);
	return true;
}

EXPORT void dz_video_render(void *data, void *effect)
{
	(void)effect;
	struct dz_video *v = data;
	if (!v || !atomic_load(&api_ready) || atomic_load(&v->closed))
		return;
	note_hot_thread();
	uint64_t t0 = now_ns();
	void *parent = api.filter_get_parent(v->context);
	if (!parent)
		return; /* being removed: draw nothing */
	bool async = api.source_get_output_flags(parent) & SOURCE_ASYNC;
	atomic_store(&v->last_render_ns, t0);
	if (async && !atomic_load(&v->syn_on))
		v->syn_drawn = 0; /* the next dropout's first picture is uploaded before it is drawn */
	if (async && atomic_load(&v->syn_on) && atomic_load(&v->active) && draw_synthetic(v)) {
		stat_add(v, V_SYNTHETIC, 1);
		stat_add(v, V_NATIVE_NS, now_ns() - t0);
		return;
	}
	if (async || !atomic_load(&v->active)) {
		skip_checked(v); /* async: the raw frame was processed in filter_video */
		stat_add(v, V_NATIVE_NS, now_ns() - t0);
		return;
	}
	uint32_t w = 0, h = 0;
	const uint8_t *img = produce(v, &w, &h, 0);
	if (!img) {
		skip_checked(v);
		stat_add(v, V_NATIVE_NS, now_ns() - t0);
		return;
	}
	bool result = v->shown >= 0 && img == v->slots[v->shown].out_buf;
	if (!result && v->own_readback && v->texrender && v->gw == w && v->gh == h) {
		draw(api.texrender_get_texture(v->texrender), w, h); /* no result yet: what we read, no upload */
		stat_add(v, V_NATIVE_NS, now_ns() - t0);
		return;
	}
	if (!v->texture || v->tw != w || v->th != h) {
		if (v->texture)
			api.texture_destroy(v->texture);
		v->texture = api.texture_create(w, h, GS_RGBA, 1, NULL, GS_DYNAMIC);
		v->tw = w, v->th = h;
		v->tex_key = v->syn_drawn = 0;
		if (!v->texture) {
			skip_checked(v);
			return;
		}
	}
	/* upload once per new image; its shape was checked against the texture just above */
	uint64_t key = result ? v->slots[v->shown].job.seq : (v->produced_at | (1ull << 63));
	if (key != v->tex_key) {
		uint64_t tu = now_ns();
		api.texture_set_image(v->texture, img, w * 4, false);
		stat_add(v, V_UPLOAD_NS, now_ns() - tu);
		v->tex_key = key;
		v->syn_drawn = 0;
		stat_add(v, V_UPLOADS, 1);
	}
	draw(v->texture, w, h);
	stat_add(v, V_NATIVE_NS, now_ns() - t0);
}

/* Python, inside obs_enter_graphics (render path objects) */
EXPORT void dz_video_free_gpu(struct dz_video *v)
{
	if (v)
		free_gpu(v);
}

/* stop the worker's waits; the filter's callbacks then pass everything through */
EXPORT void dz_video_close(struct dz_video *v)
{
	if (!v)
		return;
	atomic_store(&v->closed, 1);
	event_post(&v->work);
	event_post(&v->done);
}

EXPORT void dz_video_free(struct dz_video *v)
{
	if (!v)
		return;
	registry_lock();
	for (struct dz_video **p = &reg_head; *p; p = &(*p)->next)
		if (*p == v) {
			*p = v->next;
			break;
		}
	mutex_unlock(&reg_lock);
	free(v->info);
	free(v->syn_buf);
	/* the filter may be gone already (a worker that outlived destroy frees this last): its parent is
	 * asked only when frames are still held, which destroy's close releases first */
	void *parent = v->nheld && v->context ? api.filter_get_parent(v->context) : NULL;
	if (v->nheld && parent)
		flush_held(v, parent);
	for (int i = 0; i < NSLOTS; i++) {
		free(v->slots[i].job.data);
		free(v->slots[i].out_buf);
	}
	event_free(&v->work);
	event_free(&v->done);
	free(v);
}

/* ---- what a filter's worker publishes for remote readers: obs-websocket vendor requests ---- */
static char *copy_string(const char *text)
{
	if (!text)
		return NULL;
	size_t n = strlen(text) + 1;
	char *out = malloc(n);
	if (out)
		memcpy(out, text, n);
	return out;
}

/* Worker: replace the published JSON (NULL withdraws it). */
EXPORT void dz_video_set_info(struct dz_video *v, const char *json)
{
	if (!v)
		return;
	char *copy = copy_string(json);
	registry_lock();
	char *old = v->info;
	v->info = copy;
	v->info_ns = now_ns();
	mutex_unlock(&reg_lock);
	free(old);
}

/* Worker: how many times a remote reader asked to start over (it compares with the count it last saw). */
EXPORT uint64_t dz_video_resets(struct dz_video *v) { return v ? atomic_load(&v->resets) : 0; }

/* The live filter on `parent` that published something (under reg_lock). */
static struct dz_video *published_on(void *parent)
{
	for (struct dz_video *v = reg_head; v; v = v->next)
		if (!atomic_load(&v->closed) && v->info && v->context && api.filter_get_parent(v->context) == parent)
			return v;
	return NULL;
}

/* The source a request names (a new reference), or NULL with an error in the response. Looked up before
 * reg_lock is taken: OBS's threads take the sources lock before ours, never the other way round. */
static void *request_source(void *request, void *response)
{
	const char *name = request ? api.data_get_string(request, "source") : NULL;
	void *source = name && *name ? api.get_source_by_name(name) : NULL;
	if (!source) {
		char text[400];
		int n = name ? (int)strnlen(name, 300) : 0;
		while (n > 0 && name[n] && ((unsigned char)name[n] & 0xC0) == 0x80)
			n--; /* never cut a UTF-8 character */
		snprintf(text, sizeof(text), n ? "no source named '%.*s'" : "the request names no source", n,
			 name ? name : "");
		api.data_set_string(response, "error", text);
	}
	return source;
}

static void no_filter(void *response)
{
	api.data_set_string(response, "error",
			    "no DeepZoom Face Analytics filter on this source has published statistics yet (it "
			    "publishes while it is enabled and its source shows frames)");
}

/* What both vendor requests share: the filter on the request's source that published statistics. With
 * `json` set, a copy of them (and when they were published); else a reset is asked for. 1 if there is one;
 * else the response says why. Runs on obs-websocket's thread; no Python. */
static int published_request(void *request, void *response, char **json, uint64_t *at)
{
	if (!atomic_load(&api_ready) || !response)
		return 0;
	void *source = request_source(request, response);
	if (!source)
		return 0;
	registry_lock();
	struct dz_video *v = published_on(source);
	if (v && json) {
		*json = copy_string(v->info);
		*at = v->info_ns;
	} else if (v) {
		atomic_fetch_add(&v->resets, 1); /* the worker looks at it within WAIT_MS */
	}
	mutex_unlock(&reg_lock);
	api.source_release(source);
	if (!v || (json && !*json))
		no_filter(response);
	return v && (!json || *json);
}

/* obs-websocket vendor request GetAnalytics {source}: the statistics the filter's worker last published, as
 * the response's fields, plus age_s (how old they are). */
EXPORT void dz_vendor_get(void *request, void *response, void *priv)
{
	(void)priv;
	char *json = NULL;
	uint64_t at = 0;
	if (!published_request(request, response, &json, &at))
		return;
	void *data = api.data_create_from_json(json);
	free(json);
	if (!data) {
		api.data_set_string(response, "error", "the published statistics are not valid JSON");
		return;
	}
	api.data_apply(response, data);
	api.data_release(data);
	api.data_set_double(response, "age_s", (double)(now_ns() - at) / 1e9);
}

/* obs-websocket vendor request ResetAnalytics {source}: the filter's worker starts its statistics over. */
EXPORT void dz_vendor_reset(void *request, void *response, void *priv)
{
	(void)priv;
	if (published_request(request, response, NULL, NULL))
		api.data_set_bool(response, "reset", true);
}

/* ======================================================================================================
 * Audio filter
 * ====================================================================================================== */
#define HIST_US 2000
enum { A_CALLS, A_FRAMES, A_PROCESSED, A_RAW, A_MAX_NS, A_TOTAL_NS, A_NSTATS };

struct dz_audio {
	int channels;
	uint32_t cap;
	float *in[MAX_AV_PLANES], *out[MAX_AV_PLANES];
	_Atomic uint64_t written, done, valid_from, delay, latency;
	_Atomic int closed;
	dz_event more; /* posted after each block */
	_Atomic uint64_t stats[A_NSTATS];
	_Atomic uint32_t hist[HIST_US + 1]; /* callback time, 1 us bins */
};

EXPORT struct dz_audio *dz_audio_new(int channels, uint32_t capacity, uint32_t latency)
{
	if (channels < 1 || channels > MAX_AV_PLANES || capacity < latency * 4)
		return NULL;
	struct dz_audio *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->channels = channels;
	a->cap = capacity;
	atomic_store(&a->latency, latency);
	for (int c = 0; c < channels; c++) {
		a->in[c] = calloc(capacity, sizeof(float));
		a->out[c] = calloc(capacity, sizeof(float));
		if (!a->in[c] || !a->out[c]) {
			for (int k = 0; k <= c; k++) {
				free(a->in[k]);
				free(a->out[k]);
			}
			free(a);
			return NULL;
		}
	}
	event_init(&a->more);
	return a;
}

EXPORT float *dz_audio_ring(struct dz_audio *a, int output, int channel)
{
	return channel < 0 || channel >= a->channels ? NULL : output ? a->out[channel] : a->in[channel];
}

EXPORT uint64_t dz_audio_written(struct dz_audio *a) { return atomic_load(&a->written); }

/* the queue's latency (samples, at most a quarter of the ring): the output jumps once when it changes */
EXPORT void dz_audio_set_latency(struct dz_audio *a, uint64_t latency)
{
	if (latency * 4 <= a->cap)
		atomic_store(&a->latency, latency);
}

/* Worker: the processed samples [.., done) are in the output ring; the model's own delay is `delay`. */
EXPORT void dz_audio_commit(struct dz_audio *a, uint64_t done) { atomic_store(&a->done, done); }
/* Worker (re)starts at `from` with a model `delay` samples late: nothing before `from` is processed. */
EXPORT void dz_audio_restart(struct dz_audio *a, uint64_t from, uint64_t delay)
{
	atomic_store(&a->delay, delay);
	atomic_store(&a->valid_from, from);
	atomic_store(&a->done, from);
}

/* Worker: wait until more than `have` samples were written (1), timeout (0) or closed (-1). */
EXPORT int dz_audio_wait(struct dz_audio *a, uint64_t have, int timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		if (atomic_load(&a->closed))
			return -1;
		if (atomic_load(&a->written) > have)
			return 1;
		uint64_t t = now_ns();
		if (t >= deadline)
			return 0;
		event_wait_ms(&a->more, (int)((deadline - t) / 1000000ull) + 1);
	}
}

EXPORT void dz_audio_stats(struct dz_audio *a, uint64_t *out, int n)
{
	for (int i = 0; i < n && i < A_NSTATS; i++)
		out[i] = atomic_load(&a->stats[i]);
}

/* callback time percentile in microseconds (q in 0..1) */
EXPORT double dz_audio_time_quantile(struct dz_audio *a, double q)
{
	uint64_t total = 0;
	for (int i = 0; i <= HIST_US; i++)
		total += atomic_load(&a->hist[i]);
	if (!total)
		return 0.0;
	uint64_t want = (uint64_t)(q * (double)total), seen = 0;
	for (int i = 0; i <= HIST_US; i++) {
		seen += atomic_load(&a->hist[i]);
		if (seen > want)
			return (double)i + 0.5;
	}
	return (double)HIST_US;
}

EXPORT struct obs_audio_data *dz_filter_audio(void *data, struct obs_audio_data *audio)
{
	struct dz_audio *a = data;
	if (!a || !audio || atomic_load(&a->closed))
		return audio;
	note_hot_thread();
	uint64_t t0 = now_ns();
	uint32_t n = audio->frames;
	if (!n || n > a->cap / 4)
		return audio;
	for (int c = 0; c < a->channels; c++)
		if (!audio->data[c])
			return audio;
	uint64_t w = atomic_load(&a->written), cap = a->cap;
	for (int c = 0; c < a->channels; c++) {
		const float *src = (const float *)audio->data[c];
		uint64_t pos = w % cap;
		uint64_t first = n < cap - pos ? n : cap - pos;
		memcpy(a->in[c] + pos, src, first * sizeof(float));
		memcpy(a->in[c], src + first, (n - first) * sizeof(float));
	}
	atomic_store(&a->written, w + n);
	uint64_t done = atomic_load(&a->done), from = atomic_load(&a->valid_from), delay = atomic_load(&a->delay);
	uint64_t latency = atomic_load(&a->latency);
	uint64_t processed = 0;
	for (int c = 0; c < a->channels; c++) {
		float *dst = (float *)audio->data[c];
		for (uint32_t i = 0; i < n; i++) {
			uint64_t k = w + i; /* output sample k - latency */
			if (k < latency) {
				dst[i] = 0.0f;
				continue;
			}
			uint64_t idx = k - latency;
			if (idx >= from && idx < done && w + n - idx <= cap) {
				dst[i] = a->out[c][idx % cap];
				processed += c == 0;
			} else if (idx >= delay && w + n - (idx - delay) <= cap) {
				dst[i] = a->in[c][(idx - delay) % cap];
			} else {
				dst[i] = 0.0f;
			}
		}
	}
	event_post(&a->more);
	uint64_t dt = now_ns() - t0;
	atomic_fetch_add(&a->stats[A_CALLS], 1);
	atomic_fetch_add(&a->stats[A_FRAMES], n);
	atomic_fetch_add(&a->stats[A_PROCESSED], processed);
	atomic_fetch_add(&a->stats[A_RAW], n - processed);
	atomic_fetch_add(&a->stats[A_TOTAL_NS], dt);
	uint64_t mx = atomic_load(&a->stats[A_MAX_NS]);
	while (dt > mx && !atomic_compare_exchange_weak(&a->stats[A_MAX_NS], &mx, dt)) {
	}
	uint64_t us = dt / 1000;
	atomic_fetch_add(&a->hist[us > HIST_US ? HIST_US : us], 1);
	return audio;
}

EXPORT void dz_audio_close(struct dz_audio *a)
{
	if (!a)
		return;
	atomic_store(&a->closed, 1);
	event_post(&a->more);
}

EXPORT void dz_audio_free(struct dz_audio *a)
{
	if (!a)
		return;
	for (int c = 0; c < a->channels; c++) {
		free(a->in[c]);
		free(a->out[c]);
	}
	event_free(&a->more);
	free(a);
}

/* ======================================================================================================
 * Audio capture tap (another source's sound, mono)
 * ====================================================================================================== */
struct dz_tap {
	int channels;
	uint32_t cap;
	float *ring;
	_Atomic uint64_t written;
	_Atomic uint64_t calls;
};

EXPORT struct dz_tap *dz_tap_new(int channels, uint32_t capacity)
{
	struct dz_tap *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->channels = channels < 1 ? 1 : channels > MAX_AV_PLANES ? MAX_AV_PLANES : channels;
	t->cap = capacity;
	t->ring = calloc(capacity, sizeof(float));
	if (!t->ring) {
		free(t);
		return NULL;
	}
	return t;
}

EXPORT void dz_tap_capture(void *param, void *source, const struct obs_audio_data *audio, bool muted)
{
	(void)source;
	struct dz_tap *t = param;
	if (!t || !audio || !audio->frames || audio->frames > t->cap / 2)
		return;
	note_hot_thread();
	uint64_t w = atomic_load(&t->written);
	int nch = 0;
	for (int c = 0; c < t->channels; c++)
		nch += audio->data[c] != NULL;
	for (uint32_t i = 0; i < audio->frames; i++) {
		float s = 0.0f;
		if (!muted && nch) {
			for (int c = 0; c < t->channels; c++)
				if (audio->data[c])
					s += ((const float *)audio->data[c])[i];
			s /= (float)nch;
		}
		t->ring[(w + i) % t->cap] = s;
	}
	atomic_store(&t->written, w + audio->frames);
	atomic_fetch_add(&t->calls, 1);
}

EXPORT float *dz_tap_ring(struct dz_tap *t) { return t->ring; }
EXPORT uint64_t dz_tap_written(struct dz_tap *t) { return atomic_load(&t->written); }
EXPORT uint64_t dz_tap_calls(struct dz_tap *t) { return atomic_load(&t->calls); }
EXPORT void dz_tap_free(struct dz_tap *t)
{
	if (t) {
		free(t->ring);
		free(t);
	}
}
