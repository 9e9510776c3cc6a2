package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestAppSchemaFrameworks checks the app object's frameworks against its
// schema: each name extraction gives is valid, another is refused.
func TestAppSchemaFrameworks(t *testing.T) {
	schemas := outputSchemas(t)
	b, err := json.Marshal(gown.App{File: "f.apk", Frameworks: []string{"flutter", "dart", "react-native-hermes", "unity-il2cpp", "xamarin"}})
	if err != nil {
		t.Fatal(err)
	}
	validateLines(t, schemas, "app", "an app with every framework", string(b))
	doc, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"file":"f.apk","frameworks":["swiftui"]}`))
	if schemas["app"].Validate(doc) == nil {
		t.Error("app schema accepts an unknown framework")
	}
}
