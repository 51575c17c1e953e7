package fakeapi

import "strings"

// Routes is a fake's route table: methods and path patterns whose {…}
// segments are parameters, such as "/1/boards/{id}/actions", each with the
// fake's handler H. The zero value is empty. Fill it before serving: Add
// must not run while Match does.
type Routes[H any] struct {
	list []*Route[H]
}

// Route is one entry of a table.
type Route[H any] struct {
	// Name is the method and the pattern, e.g. "GET /team/time": what
	// the request log and the route counts call the route.
	Name, Method string
	Handler      H
	segs         []string
}

// Add adds a route.
func (rs *Routes[H]) Add(method, pattern string, h H) {
	rs.list = append(rs.list, &Route[H]{Name: method + " " + pattern, Method: method, Handler: h, segs: split(pattern)})
}

// Match finds the route for a method and a path, with the path's values of
// its parameters in order, or nil. Literal segments beat parameters, so
// /boards/{id}/cards/{filter} does not swallow a literal route of the same
// length. Slashes at either end of the path are ignored.
func (rs *Routes[H]) Match(method, path string) (*Route[H], []string) {
	segs := split(path)
	var best *Route[H]
	var bestParams []string
	bestLiterals := -1
	for _, rt := range rs.list {
		if rt.Method != method || len(rt.segs) != len(segs) {
			continue
		}
		var params []string
		literals, ok := 0, true
		for i, sg := range rt.segs {
			if strings.HasPrefix(sg, "{") {
				params = append(params, segs[i])
				continue
			}
			if sg != segs[i] {
				ok = false
				break
			}
			literals++
		}
		if ok && literals > bestLiterals {
			best, bestParams, bestLiterals = rt, params, literals
		}
	}
	return best, bestParams
}

func split(path string) []string { return strings.Split(strings.Trim(path, "/"), "/") }
