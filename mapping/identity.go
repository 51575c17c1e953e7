package mapping

import (
	"reflect"
	"strings"
)

// The identity and container namespaces are the fields of Person and
// Client tagged `identity:` and `container:`, so that a source with a new
// kind of person id (a PlanFix user) or of container adds one tagged field
// and nothing else here: the resolver, validation's duplicate claims,
// `karkas people`'s suggested YAML and the store's copy of the model all
// read these lists.

// IdentityField is a people: field holding one namespace of ids.
type IdentityField struct {
	// Namespace is what a source's Kind.Identity says ("trello").
	Namespace string
	// YAML is the field's key under people: ("trello", "emails").
	YAML string
	// Names says the source's display names count as ids too (a
	// tracker's export may name a person only by name).
	Names bool
	index int
}

// ContainerField is a clients: field naming containers of one kind.
type ContainerField struct {
	// Kind is the record.Container kind ("board"); "" for domains,
	// which name no container.
	Kind string
	// YAML is the field's key under clients: ("boards").
	YAML  string
	index int
}

var identityFields, containerFields = func() ([]IdentityField, []ContainerField) {
	var ids []IdentityField
	pt := reflect.TypeFor[Person]()
	for i := range pt.NumField() {
		f := pt.Field(i)
		if tag, ok := f.Tag.Lookup("identity"); ok {
			ns, opt, _ := strings.Cut(tag, ",")
			ids = append(ids, IdentityField{Namespace: ns, YAML: yamlKey(f), Names: opt == "names", index: i})
		}
	}
	var cs []ContainerField
	ct := reflect.TypeFor[Client]()
	for i := range ct.NumField() {
		f := ct.Field(i)
		if tag, ok := f.Tag.Lookup("container"); ok {
			cs = append(cs, ContainerField{Kind: tag, YAML: yamlKey(f), index: i})
		}
	}
	return ids, cs
}()

func yamlKey(f reflect.StructField) string {
	k, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return k
}

// IdentityFields lists the people: fields that hold source ids, in the
// order Person declares them.
func IdentityFields() []IdentityField { return identityFields }

// IdentityFieldOf is the field holding namespace ns.
func IdentityFieldOf(ns string) (IdentityField, bool) {
	for _, f := range identityFields {
		if f.Namespace == ns {
			return f, true
		}
	}
	return IdentityField{}, false
}

// Values are p's ids in the field.
func (f IdentityField) Values(p *Person) []string {
	return reflect.ValueOf(p).Elem().Field(f.index).Interface().([]string)
}

// ContainerFields lists the clients: fields that place records with a
// client (domains and the container kinds), in the order Client declares
// them.
func ContainerFields() []ContainerField { return containerFields }

// Values are c's names in the field.
func (f ContainerField) Values(c *Client) []string {
	return reflect.ValueOf(c).Elem().Field(f.index).Interface().([]string)
}

// containerYAML is the clients: field naming containers of kind.
func containerYAML(kind string) string {
	for _, f := range containerFields {
		if f.Kind == kind && kind != "" {
			return f.YAML
		}
	}
	return ""
}

// Mapped lists, by container kind, the names the clients give containers
// of that kind (clients[].repos for "repo"): what a source told to pull
// what the mapping names pulls (connectors.Env.Mapped).
func (c *Config) Mapped() map[string][]string {
	out := map[string][]string{}
	for i := range c.Clients {
		for _, f := range containerFields {
			if f.Kind != "" {
				out[f.Kind] = append(out[f.Kind], f.Values(&c.Clients[i])...)
			}
		}
	}
	return out
}
