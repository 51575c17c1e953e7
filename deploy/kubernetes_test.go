package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/karkas/karkas/mapping"
)

// The Kubernetes objects, as far as the examples use them. They are
// decoded strictly: a field they do not list is a typo (Kubernetes would
// refuse it or, worse, drop it) or a field to add here with its check.
type (
	header struct {
		APIVersion string   `yaml:"apiVersion"`
		Kind       string   `yaml:"kind"`
		Metadata   metadata `yaml:"metadata"`
	}
	metadata struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	}
	configMap struct {
		header `yaml:",inline"`
		Data   map[string]string `yaml:"data"`
	}
	secret struct {
		header     `yaml:",inline"`
		Type       string            `yaml:"type"`
		Data       map[string]string `yaml:"data"`
		StringData map[string]string `yaml:"stringData"`
	}
	deployment struct {
		header `yaml:",inline"`
		Spec   struct {
			Replicas int `yaml:"replicas"`
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Template podTemplate `yaml:"template"`
		} `yaml:"spec"`
	}
	service struct {
		header `yaml:",inline"`
		Spec   struct {
			Selector map[string]string `yaml:"selector"`
			Ports    []struct {
				Name       string      `yaml:"name"`
				Port       int         `yaml:"port"`
				TargetPort intOrString `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	cronJob struct {
		header `yaml:",inline"`
		Spec   struct {
			Schedule                   string `yaml:"schedule"`
			TimeZone                   string `yaml:"timeZone"`
			ConcurrencyPolicy          string `yaml:"concurrencyPolicy"`
			StartingDeadlineSeconds    int    `yaml:"startingDeadlineSeconds"`
			SuccessfulJobsHistoryLimit int    `yaml:"successfulJobsHistoryLimit"`
			FailedJobsHistoryLimit     int    `yaml:"failedJobsHistoryLimit"`
			JobTemplate                struct {
				Spec struct {
					BackoffLimit          int         `yaml:"backoffLimit"`
					ActiveDeadlineSeconds int         `yaml:"activeDeadlineSeconds"`
					Template              podTemplate `yaml:"template"`
				} `yaml:"spec"`
			} `yaml:"jobTemplate"`
		} `yaml:"spec"`
	}
	podTemplate struct {
		Metadata metadata `yaml:"metadata"`
		Spec     podSpec  `yaml:"spec"`
	}
	podSpec struct {
		TerminationGracePeriodSeconds int    `yaml:"terminationGracePeriodSeconds"`
		RestartPolicy                 string `yaml:"restartPolicy"`
		SecurityContext               struct {
			RunAsNonRoot   bool `yaml:"runAsNonRoot"`
			RunAsUser      int  `yaml:"runAsUser"`
			RunAsGroup     int  `yaml:"runAsGroup"`
			FSGroup        int  `yaml:"fsGroup"`
			SeccompProfile struct {
				Type string `yaml:"type"`
			} `yaml:"seccompProfile"`
		} `yaml:"securityContext"`
		Containers []container `yaml:"containers"`
		Volumes    []volume    `yaml:"volumes"`
	}
	container struct {
		Name  string          `yaml:"name"`
		Image string          `yaml:"image"`
		Args  []string        `yaml:"args"`
		Ports []containerPort `yaml:"ports"`
		Env   []struct {
			Name      string `yaml:"name"`
			Value     string `yaml:"value"`
			ValueFrom *struct {
				SecretKeyRef    *keyRef `yaml:"secretKeyRef"`
				ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		ReadinessProbe *probe `yaml:"readinessProbe"`
		LivenessProbe  *probe `yaml:"livenessProbe"`
		Resources      struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		SecurityContext struct {
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
			Capabilities             struct {
				Drop []string `yaml:"drop"`
			} `yaml:"capabilities"`
		} `yaml:"securityContext"`
		VolumeMounts []volumeMount `yaml:"volumeMounts"`
	}
	containerPort struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	}
	volumeMount struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	}
	keyRef struct {
		Name string `yaml:"name"`
		Key  string `yaml:"key"`
	}
	probe struct {
		HTTPGet *struct {
			Path string      `yaml:"path"`
			Port intOrString `yaml:"port"`
		} `yaml:"httpGet"`
		InitialDelaySeconds int `yaml:"initialDelaySeconds"`
		PeriodSeconds       int `yaml:"periodSeconds"`
	}
	volume struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name  string      `yaml:"name"`
			Items []keyToPath `yaml:"items"`
		} `yaml:"configMap"`
		Secret *struct {
			SecretName  string      `yaml:"secretName"`
			DefaultMode int         `yaml:"defaultMode"`
			Items       []keyToPath `yaml:"items"`
		} `yaml:"secret"`
		EmptyDir *struct{} `yaml:"emptyDir"`
	}
	keyToPath struct {
		Key  string `yaml:"key"`
		Path string `yaml:"path"`
	}
)

// intOrString is a port given by number or by name.
type intOrString string

// kinds are the objects the examples may hold, by apiVersion and kind.
var kinds = map[string]func() any{
	"v1/ConfigMap":       func() any { return &configMap{} },
	"v1/Secret":          func() any { return &secret{} },
	"v1/Service":         func() any { return &service{} },
	"apps/v1/Deployment": func() any { return &deployment{} },
	"batch/v1/CronJob":   func() any { return &cronJob{} },
}

// manifests are the objects of every YAML file in kubernetes/, each file
// read as a stream of documents.
type manifests struct {
	configMaps  map[string]*configMap
	secrets     map[string]*secret
	services    []*service
	deployments []*deployment
	cronJobs    []*cronJob
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in kubernetes/: %v", err)
	}
	m := &manifests{configMaps: map[string]*configMap{}, secrets: map[string]*secret{}}
	seen := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for i := 1; ; i++ {
			var doc yaml.Node
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: document %d: %v", f, i, err)
			}
			where := fmt.Sprintf("%s:%d", f, doc.Line)
			var h header
			if err := doc.Decode(&h); err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if h.APIVersion == "" || h.Kind == "" || h.Metadata.Name == "" {
				t.Errorf("%s: apiVersion %q, kind %q, metadata.name %q: an object needs all three", where, h.APIVersion, h.Kind, h.Metadata.Name)
				continue
			}
			id := h.Kind + " " + h.Metadata.Name
			if prev, ok := seen[id]; ok {
				t.Errorf("%s: %s again (first at %s)", where, id, prev)
			}
			seen[id] = where
			newObj, ok := kinds[h.APIVersion+"/"+h.Kind]
			if !ok {
				t.Errorf("%s: %s/%s is not a kind these checks know: fix the apiVersion, or add the kind and its checks", where, h.APIVersion, h.Kind)
				continue
			}
			obj := newObj()
			if err := strictDecode(&doc, obj); err != nil {
				t.Errorf("%s: %s: %v", where, id, err)
				continue
			}
			switch o := obj.(type) {
			case *configMap:
				m.configMaps[o.Metadata.Name] = o
			case *secret:
				m.secrets[o.Metadata.Name] = o
			case *service:
				m.services = append(m.services, o)
			case *deployment:
				m.deployments = append(m.deployments, o)
			case *cronJob:
				m.cronJobs = append(m.cronJobs, o)
			}
		}
	}
	return m
}

// strictDecode decodes a document refusing fields out does not have
// (yaml.v3 has KnownFields on a Decoder only).
func strictDecode(doc *yaml.Node, out any) error {
	text, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	return dec.Decode(out)
}

// Every manifest parses, each object is a kind these checks know with the
// fields it needs, and what one object names of another is there: the
// ConfigMap and Secret the pods mount, the keys they take, the volumes
// the containers mount, the ports the probes and the Service point at.
func TestKubernetes(t *testing.T) {
	t.Parallel()
	m := loadManifests(t)
	if len(m.deployments) != 1 || len(m.cronJobs) != 1 || len(m.services) != 1 {
		t.Fatalf("%d Deployments, %d CronJobs, %d Services; the examples have one of each", len(m.deployments), len(m.cronJobs), len(m.services))
	}

	d := m.deployments[0]
	t.Run("deployment", func(t *testing.T) {
		if d.Spec.Replicas != 2 {
			t.Errorf("replicas %d, want 2", d.Spec.Replicas)
		}
		if len(d.Spec.Selector.MatchLabels) == 0 || !subset(d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels) {
			t.Errorf("selector %v does not select the pods' labels %v", d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels)
		}
		pod := d.Spec.Template.Spec
		checkPod(t, m, pod, "serve")
		if g := pod.TerminationGracePeriodSeconds; g <= 30 || g > 90 {
			t.Errorf("terminationGracePeriodSeconds %d: want a little over the daemon's 30 s shutdown", g)
		}
		c := pod.Containers[0]
		if !slices.ContainsFunc(c.Ports, func(p containerPort) bool { return p.ContainerPort == 8080 }) {
			t.Errorf("container %s does not expose 8080", c.Name)
		}
		for name, want := range map[string]struct {
			p    *probe
			path string
		}{"readinessProbe": {c.ReadinessProbe, "/readyz"}, "livenessProbe": {c.LivenessProbe, "/healthz"}} {
			if want.p == nil || want.p.HTTPGet == nil {
				t.Errorf("%s: no httpGet", name)
				continue
			}
			if want.p.HTTPGet.Path != want.path {
				t.Errorf("%s: path %q, want %q", name, want.p.HTTPGet.Path, want.path)
			}
			if port := want.p.HTTPGet.Port; !hasPort(c, port) {
				t.Errorf("%s: port %q is not a port of container %s", name, port, c.Name)
			}
		}
	})

	t.Run("service", func(t *testing.T) {
		s := m.services[0]
		if len(s.Spec.Selector) == 0 || !subset(s.Spec.Selector, d.Spec.Template.Metadata.Labels) {
			t.Errorf("Service %s selects %v, not the Deployment's pods %v", s.Metadata.Name, s.Spec.Selector, d.Spec.Template.Metadata.Labels)
		}
		if subset(s.Spec.Selector, m.cronJobs[0].Spec.JobTemplate.Spec.Template.Metadata.Labels) {
			t.Errorf("Service %s selects the CronJob's pods too", s.Metadata.Name)
		}
		if len(s.Spec.Ports) == 0 {
			t.Errorf("Service %s has no ports", s.Metadata.Name)
		}
		for _, p := range s.Spec.Ports {
			if p.Port == 0 || !hasPort(d.Spec.Template.Spec.Containers[0], p.TargetPort) {
				t.Errorf("Service %s: port %d to %q, which the pods do not expose", s.Metadata.Name, p.Port, p.TargetPort)
			}
		}
	})

	t.Run("cronjob", func(t *testing.T) {
		cj := m.cronJobs[0]
		if f := strings.Fields(cj.Spec.Schedule); len(f) != 5 {
			t.Errorf("schedule %q: want five cron fields", cj.Spec.Schedule)
		}
		if cj.Spec.ConcurrencyPolicy != "Forbid" {
			t.Errorf("concurrencyPolicy %q, want Forbid", cj.Spec.ConcurrencyPolicy)
		}
		pod := cj.Spec.JobTemplate.Spec.Template.Spec
		if pod.RestartPolicy != "Never" && pod.RestartPolicy != "OnFailure" {
			t.Errorf("restartPolicy %q: a Job's pods need Never or OnFailure", pod.RestartPolicy)
		}
		checkPod(t, m, pod, "sync")
	})

	t.Run("secret", func(t *testing.T) {
		if len(m.secrets) == 0 {
			t.Fatal("no Secret example")
		}
		for name, s := range m.secrets {
			if len(s.Data) > 0 {
				t.Errorf("Secret %s has data: the example shows placeholders in stringData only", name)
			}
			for k, v := range s.StringData {
				if !strings.Contains(v, "CHANGE-ME") {
					t.Errorf("Secret %s: %s is not a CHANGE-ME placeholder", name, k)
				}
			}
		}
	})
}

// checkPod checks a pod of karkas: one container running the command
// (serve, sync) with the config the ConfigMap mounts, the secret files the
// config reads where the Secret is mounted, every volume and reference
// there, and the hardening the examples promise.
func checkPod(t *testing.T, m *manifests, pod podSpec, command string) {
	t.Helper()
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want karkas alone", len(pod.Containers))
	}
	sc := pod.SecurityContext
	if !sc.RunAsNonRoot || sc.RunAsUser == 0 || sc.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("pod securityContext %+v: want runAsNonRoot, a user, the RuntimeDefault seccomp profile", sc)
	}
	volumes := map[string]volume{}
	for _, v := range pod.Volumes {
		if _, dup := volumes[v.Name]; dup {
			t.Errorf("volume %s twice", v.Name)
		}
		volumes[v.Name] = v
		switch {
		case v.ConfigMap != nil:
			cm, ok := m.configMaps[v.ConfigMap.Name]
			if !ok {
				t.Errorf("volume %s: no ConfigMap %s among the manifests", v.Name, v.ConfigMap.Name)
				break
			}
			for _, it := range v.ConfigMap.Items {
				if _, ok := cm.Data[it.Key]; !ok {
					t.Errorf("volume %s: ConfigMap %s has no key %s", v.Name, cm.Metadata.Name, it.Key)
				}
			}
		case v.Secret != nil:
			s, ok := m.secrets[v.Secret.SecretName]
			if !ok {
				t.Errorf("volume %s: no Secret %s among the manifests", v.Name, v.Secret.SecretName)
				break
			}
			for _, it := range v.Secret.Items {
				if !s.has(it.Key) {
					t.Errorf("volume %s: Secret %s has no key %s", v.Name, s.Metadata.Name, it.Key)
				}
			}
		case v.EmptyDir != nil:
		default:
			t.Errorf("volume %s: neither configMap, secret nor emptyDir", v.Name)
		}
	}

	c := pod.Containers[0]
	if c.Name == "" {
		t.Error("a container without a name")
	}
	if c.Image == "" || !strings.Contains(path.Base(c.Image), ":") || strings.HasSuffix(c.Image, ":latest") {
		t.Errorf("container %s: image %q, want one pinned by a tag other than latest", c.Name, c.Image)
	}
	if !c.SecurityContext.ReadOnlyRootFilesystem || c.SecurityContext.AllowPrivilegeEscalation == nil ||
		*c.SecurityContext.AllowPrivilegeEscalation || !slices.Contains(c.SecurityContext.Capabilities.Drop, "ALL") {
		t.Errorf("container %s: securityContext %+v; want a read-only root, no privilege escalation, every capability dropped", c.Name, c.SecurityContext)
	}
	if c.Resources.Limits["memory"] == "" {
		t.Errorf("container %s: no memory limit", c.Name)
	}
	mounts := map[string]volume{} // by mount path
	for _, vm := range c.VolumeMounts {
		v, ok := volumes[vm.Name]
		if !ok {
			t.Errorf("container %s mounts volume %s, which the pod does not have", c.Name, vm.Name)
			continue
		}
		mounts[vm.MountPath] = v
	}
	for name := range volumes {
		if !slices.ContainsFunc(c.VolumeMounts, func(vm volumeMount) bool { return vm.Name == name }) {
			t.Errorf("volume %s is mounted nowhere", name)
		}
	}

	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			s, ok := m.secrets[ref.Name]
			if !ok || !s.has(ref.Key) {
				t.Errorf("env %s: no key %s in a Secret %s", e.Name, ref.Key, ref.Name)
				continue
			}
			env[e.Name] = s.StringData[ref.Key]
		case e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			cm, ok := m.configMaps[ref.Name]
			if !ok || cm.Data[ref.Key] == "" {
				t.Errorf("env %s: no key %s in a ConfigMap %s", e.Name, ref.Key, ref.Name)
				continue
			}
			env[e.Name] = cm.Data[ref.Key]
		default:
			env[e.Name] = e.Value
		}
	}

	// The command line: karkas's global flags, then the command.
	args := c.Args
	i := slices.Index(args, "--config")
	if i < 0 || i+1 >= len(args) {
		t.Fatalf("container %s: args %q name no --config", c.Name, args)
	}
	if !slices.Contains(args, command) {
		t.Errorf("container %s: args %q do not run karkas %s", c.Name, args, command)
	}
	configPath := args[i+1]
	v, ok := mounts[path.Dir(configPath)]
	if !ok || v.ConfigMap == nil {
		t.Fatalf("--config %s: no ConfigMap is mounted at %s", configPath, path.Dir(configPath))
	}
	text, ok := m.configMaps[v.ConfigMap.Name].Data[path.Base(configPath)]
	if !ok {
		t.Fatalf("--config %s: ConfigMap %s has no key %s", configPath, v.ConfigMap.Name, path.Base(configPath))
	}
	l := parseConfig(t, configPath, text, env)
	if u := l.StoreURL(); !strings.HasPrefix(u, "postgres://") {
		t.Errorf("the config's store is %q: pods that may run side by side need PostgreSQL", u)
	}
	// Every secret file the config names is a file of a mounted Secret.
	for _, f := range secretFiles(text, env) {
		v, ok := mounts[path.Dir(f)]
		if !ok || v.Secret == nil {
			t.Errorf("the config reads %s, but no Secret is mounted at %s", f, path.Dir(f))
			continue
		}
		if !slices.ContainsFunc(v.Secret.Items, func(it keyToPath) bool { return it.Path == path.Base(f) }) {
			t.Errorf("the config reads %s, which the Secret's volume %s does not hold", f, v.Name)
		}
	}
}

func (s *secret) has(key string) bool {
	_, a := s.StringData[key]
	_, b := s.Data[key]
	return a || b
}

// The ConfigMap's karkas.yaml is deploy/karkas.yaml, which systemd installs:
// the two examples run one config.
func TestConfigMapIsTheConfig(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile("karkas.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := loadManifests(t)
	cm, ok := m.configMaps["karkas-config"]
	if !ok {
		t.Fatal("no ConfigMap karkas-config")
	}
	if got := cm.Data["karkas.yaml"]; got != string(want) {
		t.Errorf("the ConfigMap's karkas.yaml differs from deploy/karkas.yaml:\n%s", lineDiff(string(want), got))
	}
}

// parseConfig reads a karkas config as karkas does, in the environment
// env, and fails the test on its problems. Source and sink options are
// left to cmd/karkas's TestDeployConfigValidates, which knows the
// connectors.
func parseConfig(t *testing.T, file, text string, env map[string]string) *mapping.Loaded {
	t.Helper()
	l, err := mapping.Parse(file, []byte(text), mapping.LoadOptions{LookupEnv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}})
	if err != nil {
		t.Fatalf("the config in %s: %v", file, err)
	}
	return l
}

// fileOption is a *_file option in block or flow style, ${VAR} and all.
var fileOption = regexp.MustCompile(`\b\w+_file:\s*((?:\$\{[^}]*\}|[^\s,}])+)`)

// secretFiles are the paths of the config's *_file options, with ${VAR}
// from env.
func secretFiles(text string, env map[string]string) []string {
	var out []string
	for _, m := range fileOption.FindAllStringSubmatch(text, -1) {
		out = append(out, os.Expand(m[1], func(k string) string { return env[k] }))
	}
	return out
}

func subset(sub, of map[string]string) bool {
	for k, v := range sub {
		if of[k] != v {
			return false
		}
	}
	return true
}

func hasPort(c container, port intOrString) bool {
	n, err := strconv.Atoi(string(port))
	for _, p := range c.Ports {
		if (err == nil && p.ContainerPort == n) || (err != nil && p.Name == string(port)) {
			return true
		}
	}
	return false
}

// lineDiff names the first line where two texts differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d: want %q, got %q", i+1, a, b)
		}
	}
	return "equal"
}
