package publish

import (
	"bytes"
	"embed"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Summary is GET /status/summary.json: the field names of Atlassian
// Statuspage's public summary, so existing consumers can read it.
type Summary struct {
	Page                  SummaryPage        `json:"page"`
	Status                SummaryStatus      `json:"status"`
	Components            []SummaryComponent `json:"components"`
	Incidents             []SummaryIncident  `json:"incidents"`
	ScheduledMaintenances []SummaryIncident  `json:"scheduled_maintenances"`
}

type SummaryPage struct {
	Name      string         `json:"name"`
	URL       string         `json:"url"`
	UpdatedAt *protocol.Time `json:"updated_at"`
}

type SummaryStatus struct {
	Indicator   string `json:"indicator"`
	Description string `json:"description"`
}

// SummaryComponent is a component object as Statuspage writes one, in
// the page's list and in each incident's and maintenance's components
// (PROTOCOL.md, "Status page compatibility"). vigil's components are
// never groups, always shown, and have no description; created_at is
// not kept, so it reads as the last update.
type SummaryComponent struct {
	ID                 string         `json:"id"`
	Name               string         `json:"name"`
	Status             string         `json:"status"`
	CreatedAt          *protocol.Time `json:"created_at"`
	UpdatedAt          *protocol.Time `json:"updated_at"`
	Position           int            `json:"position"`
	Description        *string        `json:"description"`
	OnlyShowIfDegraded bool           `json:"only_show_if_degraded"`
	Group              bool           `json:"group"`
}

// SummaryIncident is an incident or, with the scheduled fields, a
// scheduled maintenance.
type SummaryIncident struct {
	ID              string             `json:"id"`
	Name            string             `json:"name"`
	Status          string             `json:"status"`
	Impact          string             `json:"impact,omitempty"`
	CreatedAt       *protocol.Time     `json:"created_at"`
	UpdatedAt       *protocol.Time     `json:"updated_at"`
	ResolvedAt      *protocol.Time     `json:"resolved_at"`
	ScheduledFor    *protocol.Time     `json:"scheduled_for,omitempty"`
	ScheduledUntil  *protocol.Time     `json:"scheduled_until,omitempty"`
	Components      []SummaryComponent `json:"components"`
	IncidentUpdates []SummaryUpdate    `json:"incident_updates"`
}

type SummaryUpdate struct {
	Status    string         `json:"status"`
	Body      string         `json:"body"`
	CreatedAt *protocol.Time `json:"created_at"`
}

func tp(t time.Time) *protocol.Time {
	if t.IsZero() {
		return nil
	}
	return protocol.TimePtr(t)
}

func tpp(t *time.Time) *protocol.Time {
	if t == nil {
		return nil
	}
	return tp(*t)
}

// Summary is the page as Statuspage's summary: unresolved incidents and
// scheduled or running maintenance, as Statuspage lists them.
func (p Page) Summary() Summary {
	s := Summary{
		Page:                  SummaryPage{Name: p.Name, URL: p.page(), UpdatedAt: tp(p.Updated)},
		Status:                SummaryStatus{Indicator: p.Indicator, Description: p.Description},
		Components:            []SummaryComponent{},
		Incidents:             []SummaryIncident{},
		ScheduledMaintenances: []SummaryIncident{},
	}
	byID := map[string]SummaryComponent{}
	for i, c := range p.Components {
		u := c.Updated
		if u.IsZero() {
			u = p.Updated
		}
		sc := SummaryComponent{ID: c.ID, Name: c.Name, Status: c.Status, CreatedAt: tp(u), UpdatedAt: tp(u), Position: i + 1}
		byID[c.ID] = sc
		s.Components = append(s.Components, sc)
	}
	for _, n := range p.Active {
		s.Incidents = append(s.Incidents, summaryNotice(n, byID))
	}
	for _, n := range p.Maintenance {
		s.ScheduledMaintenances = append(s.ScheduledMaintenances, summaryNotice(n, byID))
	}
	return s
}

func summaryNotice(n Notice, components map[string]SummaryComponent) SummaryIncident {
	si := SummaryIncident{ID: n.ID, Name: n.Name, Status: n.Status, Impact: n.Impact,
		CreatedAt: tp(n.Created), UpdatedAt: tp(n.Updated), ResolvedAt: tpp(n.Resolved),
		ScheduledFor: tpp(n.ScheduledFor), ScheduledUntil: tpp(n.ScheduledUntil),
		Components: []SummaryComponent{}, IncidentUpdates: []SummaryUpdate{}}
	for i, id := range n.Components {
		c, ok := components[id]
		if !ok {
			// A component no longer configured: its id and the name the
			// incident was published with.
			c = SummaryComponent{ID: id, Name: id, Status: Operational, UpdatedAt: tp(n.Updated), CreatedAt: tp(n.Updated)}
			if i < len(n.ComponentNames) {
				c.Name = n.ComponentNames[i]
			}
		}
		si.Components = append(si.Components, c)
	}
	for _, u := range n.Updates {
		si.IncidentUpdates = append(si.IncidentUpdates, SummaryUpdate{Status: u.Status, Body: u.Body, CreatedAt: tp(u.At)})
	}
	return si
}

// JSON encodes the summary, indented for people who curl it.
func (p Page) JSON() ([]byte, error) {
	return json.MarshalIndent(p.Summary(), "", "  ")
}

// Atom 1.0 (RFC 4287), only the elements vigil writes.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Link    []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Href string `xml:"href,attr"`
	Type string `xml:"type,attr,omitempty"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	ID        string    `xml:"id"`
	Title     string    `xml:"title"`
	Updated   string    `xml:"updated"`
	Published string    `xml:"published"`
	Link      atomLink  `xml:"link"`
	Content   atomText  `xml:"content"`
	Category  []atomCat `xml:"category"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type atomCat struct {
	Term string `xml:"term,attr"`
}

func atomTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// page is the page's public address (PageURL), "" when none is set.
func (p Page) page() string { return PageURL(p.URL) }

// link is the address of what lies at rel under the page ("" the page).
func (p Page) link(rel string) string {
	if p.page() == "" {
		return "/status" + rel // relative, as the hub serves it
	}
	return p.page() + rel
}

func (p Page) feedID() string {
	if p.page() == "" {
		return "urn:vigil:status"
	}
	return p.page()
}

// UpdateID is the stable Atom id of one published update: under the
// site's URL, named by the publish command's id.
func (p Page) UpdateID(incidentID, ref string) string {
	if p.page() == "" {
		// Atom ids must be absolute IRIs; without a configured URL, a URN
		// keeps them valid and stable.
		return "urn:vigil:status:" + url.PathEscape(incidentID) + ":" + url.PathEscape(ref)
	}
	return p.page() + "/" + url.PathEscape(incidentID) + "/" + url.PathEscape(ref)
}

// Atom encodes one entry per published update and maintenance
// announcement, newest first.
func (p Page) Atom() ([]byte, error) {
	f := atomFeed{
		ID: p.feedID(), Title: p.Name + " status", Updated: atomTime(p.Updated),
		Link: []atomLink{
			{Rel: "alternate", Href: p.link(""), Type: "text/html"},
			{Rel: "self", Href: p.link("/feed.atom"), Type: "application/atom+xml"},
		},
		Author: atomAuthor{Name: p.Name},
	}
	if p.Updated.IsZero() {
		f.Updated = atomTime(time.Unix(0, 0))
	}
	var all []Notice
	all = append(append(append(all, p.Active...), p.Maintenance...), p.Past...)
	for _, n := range all {
		for _, u := range n.Updates {
			title := n.Name + ": " + Label(u.Status)
			if n.Maintenance {
				title = "Maintenance: " + n.Name + " (" + strings.ToLower(Label(u.Status)) + ")"
			}
			e := atomEntry{
				ID: p.UpdateID(n.ID, u.Ref), Title: title,
				Updated: atomTime(u.At), Published: atomTime(u.At),
				Link:    atomLink{Rel: "alternate", Href: p.link("#" + url.PathEscape(n.ID)), Type: "text/html"},
				Content: atomText{Type: "text", Body: u.Body},
			}
			for _, c := range n.ComponentNames {
				e.Category = append(e.Category, atomCat{Term: c})
			}
			f.Entries = append(f.Entries, e)
		}
	}
	sortEntries(f.Entries)
	out, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), out...), nil
}

func sortEntries(es []atomEntry) {
	// RFC 3339 in UTC sorts as text.
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].Updated > es[j-1].Updated; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

//go:embed status.html.tmpl
var templates embed.FS

var pageTmpl = template.Must(template.New("status.html.tmpl").Funcs(template.FuncMap{
	"label": Label,
	"when":  func(t time.Time) string { return t.UTC().Format("Mon 2 Jan 2006 15:04 UTC") },
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"whenp": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("Mon 2 Jan 2006 15:04 UTC")
	},
	"join": func(s []string) string { return strings.Join(s, ", ") },
	"paras": func(s string) []string {
		var out []string
		for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	},
	"lines": func(s string) []string { return strings.Split(s, "\n") },
}).ParseFS(templates, "status.html.tmpl"))

// HTML renders the page: no JavaScript, readable on a phone, light and
// dark, every state also in words.
func (p Page) HTML() ([]byte, error) {
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, p); err != nil {
		return nil, err
	}
	return stripControls(b.Bytes()), nil
}

// cached is one rendering of one endpoint, valid while the board's
// version and the minute (maintenance starts, the history window) hold.
type cached struct {
	mu      sync.Mutex
	version uint64
	minute  time.Time
	etag    string
	body    []byte
}

// Handler serves the status page of board under /status: the HTML page,
// /status/feed.atom and /status/summary.json. now is the clock. Each is
// rendered once per change (or minute) however many customers reload it
// during an outage, and answers If-None-Match with 304.
func Handler(board *Board, now func() time.Time) http.Handler {
	mux := http.NewServeMux()
	serve := func(ctype string, render func(Page) ([]byte, error)) http.HandlerFunc {
		var c cached
		return func(w http.ResponseWriter, r *http.Request) {
			t := now()
			minute := t.Truncate(time.Minute)
			c.mu.Lock()
			if v := board.Version(); c.body == nil || c.version != v || !c.minute.Equal(minute) {
				body, err := render(board.extend(BuildPage(board.Site(), board.Snapshot(), t), t))
				if err != nil {
					c.mu.Unlock()
					http.Error(w, "the status page could not be rendered", http.StatusInternalServerError)
					return
				}
				c.version, c.minute, c.body = v, minute, body
				c.etag = fmt.Sprintf(`"%d-%d"`, v, minute.Unix())
			}
			body, etag := c.body, c.etag
			c.mu.Unlock()
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("ETag", etag)
			w.Header().Set("X-Content-Type-Options", "nosniff")
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Write(body)
		}
	}
	mux.Handle("GET /status", serve("text/html; charset=utf-8", Page.HTML))
	mux.Handle("GET /status/{$}", serve("text/html; charset=utf-8", Page.HTML))
	mux.Handle("GET /status/feed.atom", serve("application/atom+xml; charset=utf-8", Page.Atom))
	mux.Handle("GET /status/summary.json", serve("application/json", Page.JSON))
	return mux
}
