/* test_report_html.c - report.html of a small study, checked as text and in a real
 * browser. The HTML must show every run (its dot, its learning curves, its table row) and
 * fetch nothing. Headless Chromium then renders (1) each chart of the page alone at a known
 * place on a grey page: the PNG must show it there, of its declared size, with more than
 * one colour drawn in it; (2) the whole report: a PNG of the window's size, no console
 * message (scripts, failed loads), and a DOM with every run. Exits 77 (ctest: skipped)
 * when Chromium is absent; scripts/setup.sh installs it. */
#include "check.h"
#include "study/study.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static char dir[96];

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = s ? fread(s, 1, (size_t)n, f) : 0;
    if (s) s[got] = 0;
    if (len) *len = got;
    fclose(f);
    return s;
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* ---- a PNG decoder for what Chromium writes: 8-bit RGB or RGBA, not interlaced ---- */
typedef struct image {
    int w, h;
    unsigned char *rgb; /* w * h * 3 */
} image;

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c) {
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

static int png_read(const char *path, image *im) {
    size_t len;
    unsigned char *f = (unsigned char *)slurp(path, &len), *idat = NULL;
    memset(im, 0, sizeof *im);
    if (!f || len < 8 || memcmp(f, "\x89PNG\r\n\x1a\n", 8)) {
        free(f);
        return -1;
    }
    size_t nidat = 0, pos = 8;
    int ch = 0, depth = 0, interlace = 0;
    while (pos + 12 <= len) {
        uint32_t n = be32(f + pos);
        const unsigned char *type = f + pos + 4, *d = f + pos + 8;
        if (pos + 12 + n > len) break;
        if (!memcmp(type, "IHDR", 4)) {
            im->w = (int)be32(d), im->h = (int)be32(d + 4);
            depth = d[8], ch = d[9] == 6 ? 4 : d[9] == 2 ? 3 : 0, interlace = d[12];
        } else if (!memcmp(type, "IDAT", 4)) {
            unsigned char *t = realloc(idat, nidat + n);
            if (!t) break;
            idat = t;
            memcpy(idat + nidat, d, n);
            nidat += n;
        }
        pos += 12 + n;
    }
    int rc = -1;
    if (depth == 8 && ch && !interlace && im->w > 0 && im->h > 0 && idat) {
        size_t stride = (size_t)im->w * (size_t)ch;
        uLongf raw_len = (uLongf)((stride + 1) * (size_t)im->h);
        unsigned char *raw = malloc(raw_len);
        im->rgb = malloc((size_t)im->w * (size_t)im->h * 3);
        unsigned char *prev = calloc(stride, 1), *cur = malloc(stride);
        if (raw && im->rgb && prev && cur && uncompress(raw, &raw_len, idat, nidat) == Z_OK &&
            raw_len == (stride + 1) * (size_t)im->h) {
            rc = 0;
            for (int y = 0; y < im->h; y++) {
                const unsigned char *src = raw + (stride + 1) * (size_t)y;
                int filter = src[0];
                for (size_t i = 0; i < stride; i++) {
                    int a = i >= (size_t)ch ? cur[i - ch] : 0, b = prev[i],
                        c = i >= (size_t)ch ? prev[i - ch] : 0, x = src[1 + i];
                    int v = filter == 0   ? x
                            : filter == 1 ? x + a
                            : filter == 2 ? x + b
                            : filter == 3 ? x + (a + b) / 2
                                          : x + paeth(a, b, c);
                    cur[i] = (unsigned char)v;
                }
                for (int x = 0; x < im->w; x++)
                    memcpy(im->rgb + ((size_t)y * (size_t)im->w + (size_t)x) * 3,
                           cur + (size_t)x * (size_t)ch, 3);
                unsigned char *t = prev;
                prev = cur, cur = t;
            }
        }
        free(raw), free(prev), free(cur);
    }
    free(idat);
    free(f);
    if (rc) free(im->rgb), im->rgb = NULL;
    return rc;
}

static const unsigned char *px(const image *im, int x, int y) {
    return im->rgb + ((size_t)y * (size_t)im->w + (size_t)x) * 3;
}

static int is_grey_bg(const unsigned char *p) { /* the wrapper page's #808080 */
    return abs(p[0] - 128) < 4 && abs(p[1] - 128) < 4 && abs(p[2] - 128) < 4;
}

static int is_white(const unsigned char *p) {
    return p[0] > 250 && p[1] > 250 && p[2] > 250;
}

/* ---- Chromium ---- */
static const char *chromium(void) {
    static const char *names[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser",
                                  "/usr/lib/chromium/chromium"};
    for (int i = 0; i < 3; i++)
        if (access(names[i], X_OK) == 0) return names[i];
    return NULL;
}

/* Run Chromium headless on file://page with extra flags; its stderr into log. */
static int browse(const char *extra, const char *page, const char *out, const char *log) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd %s && timeout 120 %s --headless --no-sandbox --disable-gpu --hide-scrollbars "
             "--no-first-run --user-data-dir=%s/profile --enable-logging=stderr --v=0 %s "
             "file://%s/%s >%s 2>%s",
             dir, chromium(), dir, extra, dir, page, out, log);
    return system(cmd);
}

/* Chromium's console lines ("INFO:CONSOLE:1] \"Uncaught ReferenceError ...\""): any message
 * from the page. */
static int console_lines(const char *log) {
    char *s = slurp(log, NULL);
    int n = s ? count(s, ":CONSOLE") + count(s, "Uncaught") + count(s, "Failed to load resource") +
                    count(s, "ERR_FILE_NOT_FOUND")
              : -1;
    if (s && n) printf("chromium said:\n%s\n", s);
    free(s);
    return n;
}

static void small_study(void) {
    on_study_cfg c = on_study_defaults();
    c.model = "input(28,28,1) conv2d(4,3,same) {bn relu maxpool dropout(0.2)} flatten dense(10)";
    c.orders =
        "bn relu maxpool dropout(0.2);bn maxpool relu dropout(0.2);relu bn maxpool dropout(0.2);"
        "maxpool bn relu dropout(0.2)";
    c.seeds = 2;
    c.epochs = 2;
    c.limit = 300;
    c.test_limit = 200;
    c.out = dir;
    c.train.batch = 50;
    c.speed_rounds = 2;
    on_error err;
    int rc = on_study_run(&c, &err);
    CHECK(!rc, "the study: %s", rc ? err.msg : "");
}

/* Every run of results.json in the HTML: its dot, two learning curves, its table row. */
static void check_runs(const char *html, const char *dom) {
    char path[256];
    snprintf(path, sizeof path, "%s/results.json", dir);
    char *js = slurp(path, NULL);
    cJSON *j = cJSON_Parse(js);
    cJSON *runs = cJSON_GetObjectItemCaseSensitive(j, "runs"), *r;
    CHECK(cJSON_GetArraySize(runs) == 6, "3 classes x 2 seeds: %d runs", cJSON_GetArraySize(runs));
    cJSON_ArrayForEach(r, runs) {
        char key[64];
        int cls = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "class")),
            seed = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "seed"));
        snprintf(key, sizeof key, "data-run=\"%d-%d\"", cls, seed);
        CHECK(count(html, key) == 4, "run %d-%d: a dot, 2 curves and a row (%d)", cls, seed,
              count(html, key));
        CHECK(dom && count(dom, key) == 4, "run %d-%d in the browser's DOM", cls, seed);
        const char *order = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "order"));
        CHECK(order && strstr(html, order), "run %d-%d's order in the page", cls, seed);
    }
    cJSON_Delete(j);
    free(js);
}

/* Each chart alone at a known place on a grey page: drawn there, of its size. */
static void check_charts(const char *html) {
    const char *style = strstr(html, "<style>"), *style_end = strstr(html, "</style>");
    char path[256];
    snprintf(path, sizeof path, "%s/charts.html", dir);
    FILE *f = fopen(path, "w");
    if (!f || !style || !style_end) {
        CHECK(0, "cannot write the charts page");
        if (f) fclose(f);
        return;
    }
    fprintf(f,
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\">%.*s\n"
            "body{margin:0;background:#808080}.chart{margin:0;max-width:none}</style>"
            "</head><body>\n",
            (int)(style_end - style), style);
    struct {
        char id[32];
        int x, y, w, h;
    } ch[16];
    int n = 0, top = 10, width = 0;
    for (const char *p = html; n < 16 && (p = strstr(p, "<svg class=\"chart\"")); n++) {
        const char *end = strstr(p, "</svg>");
        if (!end) break;
        end += 6;
        if (sscanf(p, "<svg class=\"chart\" id=\"%31[^\"]\" width=\"%d\" height=\"%d\"", ch[n].id,
                   &ch[n].w, &ch[n].h) != 3)
            break;
        ch[n].x = 10, ch[n].y = top;
        fprintf(f, "<div style=\"position:absolute;left:%dpx;top:%dpx\">%.*s</div>\n", ch[n].x,
                ch[n].y, (int)(end - p), p);
        top += ch[n].h + 20;
        if (ch[n].w + 30 > width) width = ch[n].w + 30;
        p = end;
    }
    fprintf(f, "</body></html>\n");
    fclose(f);
    CHECK(n == 6, "6 charts: ranked, questions, 2 learning curves, accuracy-time, orders (%d)", n);
    char flags[256], log[256];
    snprintf(flags, sizeof flags, "--screenshot=%s/charts.png --window-size=%d,%d", dir, width,
             top + 10);
    snprintf(log, sizeof log, "%s/charts.log", dir);
    int rc = browse(flags, "charts.html", "/dev/null", log);
    image im;
    snprintf(path, sizeof path, "%s/charts.png", dir);
    CHECK(rc == 0 && png_read(path, &im) == 0, "chromium renders the charts (exit %d)", rc);
    if (!im.rgb) return;
    CHECK(im.w == width && im.h == top + 10, "the PNG is the window's size: %dx%d", im.w, im.h);
    for (int i = 0; i < n && im.w == width && im.h == top + 10; i++) {
        int x0 = ch[i].x, y0 = ch[i].y, x1 = x0 + ch[i].w, y1 = y0 + ch[i].h;
        /* its box: its own white background at the corners, the grey page just outside */
        CHECK(is_white(px(&im, x0 + 1, y0 + 1)) && is_white(px(&im, x1 - 2, y1 - 2)),
              "chart %s fills its %dx%d box", ch[i].id, ch[i].w, ch[i].h);
        CHECK(is_grey_bg(px(&im, x1 + 3, y0 + 3)) && is_grey_bg(px(&im, x0 + 3, y1 + 3)),
              "chart %s ends at its declared size", ch[i].id);
        /* drawn: ink in it, and colour (not only text) */
        long ink = 0, colour = 0;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                const unsigned char *p = px(&im, x, y);
                if (is_white(p)) continue;
                ink++;
                int mx = p[0] > p[1] ? p[0] : p[1], mn = p[0] < p[1] ? p[0] : p[1];
                mx = mx > p[2] ? mx : p[2], mn = mn < p[2] ? mn : p[2];
                colour += mx - mn > 60;
            }
        long area = (long)ch[i].w * ch[i].h;
        CHECK(ink > area / 200 && colour > 30,
              "chart %s is drawn: %ld of %ld pixels inked, %ld coloured", ch[i].id, ink, area,
              colour);
    }
    CHECK(console_lines(log) == 0, "no console messages from the charts page");
    free(im.rgb);
}

int main(void) {
    if (!chromium()) {
        printf("SKIP: Chromium is not installed (apt-get install chromium; scripts/setup.sh "
               "lists it): report.html was not rendered\n");
        return 77;
    }
    on_set_threads(2);
    snprintf(dir, sizeof dir, "/tmp/ordnet-html-%d", (int)getpid());
    char cmd[256], path[256];
    small_study();
    snprintf(path, sizeof path, "%s/report.html", dir);
    char *html = slurp(path, NULL);
    CHECK(html != NULL, "report.html written");
    if (!html) return check_done();
    CHECK(!strstr(html, "<script") && !strstr(html, "src=") && !strstr(html, "http:") &&
              !strstr(html, "https:") && !strstr(html, "@import") && !strstr(html, "url("),
          "self-contained: no scripts, no external assets");
    CHECK(strstr(html, "href=\"results.csv\"") && strstr(html, "href=\"results.json\""),
          "links to results.csv and results.json");
    CHECK(strstr(html, "paired t-test") && strstr(html, "Holm"), "the method is named");
    /* the whole page: rendered, nothing said on the console; the DOM after loading */
    char flags[256], log[256], dom_path[256];
    snprintf(flags, sizeof flags, "--screenshot=%s/report.png --window-size=1200,2400", dir);
    snprintf(log, sizeof log, "%s/report.log", dir);
    int rc = browse(flags, "report.html", "/dev/null", log);
    image im;
    snprintf(path, sizeof path, "%s/report.png", dir);
    CHECK(rc == 0 && png_read(path, &im) == 0 && im.w == 1200 && im.h == 2400,
          "the report renders to a 1200x2400 PNG (exit %d, %dx%d)", rc, im.w, im.h);
    long ink = 0;
    for (int y = 0; im.rgb && y < im.h; y++)
        for (int x = 0; x < im.w; x++) ink += !is_white(px(&im, x, y));
    CHECK(ink > (long)im.w * im.h / 100, "the page is not blank (%ld pixels inked)", ink);
    free(im.rgb);
    CHECK(console_lines(log) == 0, "no console messages from the report");
    snprintf(dom_path, sizeof dom_path, "%s/dom.html", dir);
    snprintf(log, sizeof log, "%s/dom.log", dir);
    rc = browse("--dump-dom", "report.html", dom_path, log);
    char *dom = slurp(dom_path, NULL);
    CHECK(rc == 0 && dom && strstr(dom, "</body>"), "chromium dumps the DOM");
    check_runs(html, dom);
    check_charts(html);
    free(dom);
    free(html);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (!getenv("ORDNET_KEEP") && system(cmd)) return 1;
    return check_done();
}
