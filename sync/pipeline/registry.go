package pipeline

import (
	"github.com/karkas/karkas/connectors"
	"github.com/karkas/karkas/connectors/clockify"
	"github.com/karkas/karkas/connectors/email"
	"github.com/karkas/karkas/connectors/everhour"
	"github.com/karkas/karkas/connectors/github"
	"github.com/karkas/karkas/connectors/harvest"
	"github.com/karkas/karkas/connectors/planfix"
	"github.com/karkas/karkas/connectors/timecsv"
	"github.com/karkas/karkas/connectors/toggl"
	"github.com/karkas/karkas/connectors/trello"
)

// Registry lists the source kinds this binary supports. Registration is
// explicit, here, rather than by init side effects in connector packages.
func Registry() *connectors.Registry {
	return connectors.NewRegistry(
		trello.ExportKind(),
		trello.Kind(),
		timecsv.Kind(),
		everhour.Kind(),
		toggl.Kind(),
		clockify.Kind(),
		harvest.Kind(),
		email.FileKind(),
		email.IMAPKind(),
		github.Kind(),
		planfix.Kind(),
		planfix.ExportKind(),
	)
}
