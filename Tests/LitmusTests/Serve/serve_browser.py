# Drives `litmus serve` in headless Chromium (Debian's chromium + chromedriver, Selenium from
# .venv) like an operator, and prints what it saw as JSON. Run by ServeBrowserTests with
# argv[1] = {"url": ..., "shots": <folder for screenshots>}; the Swift test judges the result.
import json, os, sys, time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

spec = json.loads(sys.argv[1])
url, shots = spec["url"], spec["shots"]
os.makedirs(shots, exist_ok=True)
out = {"screenshots": [], "failed": None}

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,768"]:
    options.add_argument(a)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
GUARD = 90  # seconds: a guard against a hang, not a timing assert


def wait(what, check):
    deadline = time.time() + GUARD
    while time.time() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception:
            pass
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


def shot(name):
    path = os.path.join(shots, name)
    driver.save_screenshot(path)
    out["screenshots"].append(path)


def js(script, *args):
    return driver.execute_script(script, *args)


def live():
    wait("the live connection", lambda: driver.find_element(By.ID, "conn").text == "live")


try:
    driver.get(url)
    live()
    a = driver.current_window_handle
    wait("the station panel", lambda: driver.find_elements(By.CSS_SELECTOR, "#panel tr[data-role]"))
    out["roles"] = [e.get_attribute("data-role") for e in driver.find_elements(By.CSS_SELECTOR, "#panel tr[data-role]")]
    out["mocked"] = [e.find_element(By.XPATH, "ancestor::tr").get_attribute("data-role") for e in driver.find_elements(By.CSS_SELECTOR, "#panel .badge.mock")]
    out["calibration_classes"] = sorted({e.get_attribute("class") for e in driver.find_elements(By.CSS_SELECTOR, "#panel [class^=cal-]")})
    out["focus_at_load"] = js("return document.activeElement.id")
    shot("01-station.png")

    # A second tab on the same station.
    driver.switch_to.new_window("tab")
    b = driver.current_window_handle
    driver.get(url)
    live()
    driver.switch_to.window(a)

    # The operator types a serial into the focused field and presses Enter (as a scanner does).
    driver.find_element(By.ID, "operator").send_keys("alice")
    driver.find_element(By.ID, "serial").click()
    driver.switch_to.active_element.send_keys("SN-ASK-SLOW-1" + Keys.ENTER)
    card = wait("the prompt in the first tab", lambda: driver.find_element(By.CSS_SELECTOR, ".prompt"))
    out["prompt_text"] = card.find_element(By.TAG_NAME, "h2").text
    out["prompt_image_width"] = js("return document.querySelector('.prompt img') ? document.querySelector('.prompt img').naturalWidth : -1")
    prompt_id = card.get_attribute("data-prompt")
    shot("02-prompt.png")

    driver.switch_to.window(b)
    card_b = wait("the prompt in the second tab", lambda: driver.find_element(By.CSS_SELECTOR, ".prompt"))
    out["same_prompt_in_second_tab"] = card_b.get_attribute("data-prompt") == prompt_id
    shot("03-prompt-second-tab.png")

    driver.switch_to.window(a)
    driver.find_element(By.CSS_SELECTOR, '.prompt button[data-answer="yes"]').click()
    wait("the prompt to close in the first tab", lambda: not driver.find_elements(By.CSS_SELECTOR, ".prompt"))
    # Watch the steps progress until the verdict.
    states = []
    deadline = time.time() + GUARD
    while time.time() < deadline:
        state = js("return Array.from(document.querySelectorAll('#steps li')).map(li => li.textContent).join(' | ') + ' # ' + document.getElementById('measurements').rows.length")
        if not states or states[-1] != state:
            states.append(state)
        if driver.find_elements(By.CSS_SELECTOR, "#verdict.passed, #verdict.failed, #verdict.errored, #verdict.aborted"):
            break
        if len(states) == 3:
            shot("04-live-run.png")
        time.sleep(0.03)
    out["progress_states"] = states
    verdict = driver.find_element(By.ID, "verdict")
    out["verdict_class"] = verdict.get_attribute("class")
    out["verdict_text"] = verdict.text
    out["steps"] = [li.get_attribute("data-outcome") for li in driver.find_elements(By.CSS_SELECTOR, "#steps li")]
    out["yield_after_first"] = driver.find_element(By.ID, "yield").text
    out["focus_after_verdict"] = js("return document.activeElement.id")
    shot("05-verdict-pass.png")

    driver.switch_to.window(b)
    wait("the second tab to see the prompt close", lambda: not driver.find_elements(By.CSS_SELECTOR, ".prompt"))
    out["second_tab_message"] = wait("the second tab's note", lambda: driver.find_element(By.ID, "message").text)
    wait("the second tab's verdict", lambda: "passed" in driver.find_element(By.ID, "verdict").get_attribute("class"))
    out["second_tab_verdict"] = driver.find_element(By.ID, "verdict").get_attribute("class")

    # A failing board from the second tab.
    driver.find_element(By.ID, "serial").send_keys("SN-FAIL-2" + Keys.ENTER)
    wait("the failing verdict", lambda: "failed" in driver.find_element(By.ID, "verdict").get_attribute("class"))
    out["fail_verdict_text"] = driver.find_element(By.ID, "verdict").text
    out["yield_after_second"] = driver.find_element(By.ID, "yield").text
    shot("06-verdict-fail.png")

    # An empty serial is refused with a message.
    driver.find_element(By.ID, "serial").send_keys(Keys.ENTER)
    out["empty_serial_message"] = wait("the refusal", lambda: driver.find_element(By.ID, "message").text)

    # A reloaded tab rebuilds the same state.
    driver.switch_to.window(a)
    driver.refresh()
    live()
    wait("the rebuilt verdict", lambda: "failed" in driver.find_element(By.ID, "verdict").get_attribute("class"))
    out["reloaded_verdict_text"] = driver.find_element(By.ID, "verdict").text
    out["reloaded_rows"] = len(driver.find_elements(By.CSS_SELECTOR, "#measurements tr"))
    out["reloaded_steps"] = [li.get_attribute("data-outcome") for li in driver.find_elements(By.CSS_SELECTOR, "#steps li")]
    shot("07-reloaded.png")

    # The run page (LitmusAnalytics.RunReport) with its charts.
    driver.find_element(By.ID, "runLink").click()
    wait("a chart", lambda: driver.find_elements(By.CSS_SELECTOR, "svg.limit-chart"))
    out["charts"] = len(driver.find_elements(By.CSS_SELECTOR, "svg.limit-chart"))
    out["chart_points"] = len(driver.find_elements(By.CSS_SELECTOR, "svg.limit-chart circle.pt"))
    out["chart_failed_points"] = len(driver.find_elements(By.CSS_SELECTOR, "svg.limit-chart circle.pt.v-failed"))
    out["downloads"] = [e.get_attribute("href") for e in driver.find_elements(By.CSS_SELECTOR, "nav.links a") if "/download/" in (e.get_attribute("href") or "")]
    out["run_page_title"] = driver.title
    shot("08-run-page.png")
    chart = driver.find_element(By.CSS_SELECTOR, "svg.limit-chart")
    driver.execute_script("arguments[0].scrollIntoView()", chart)
    shot("08b-run-page-chart.png")

    # History, filtered.
    driver.get(url + "history?outcome=failed")
    wait("the history rows", lambda: driver.find_elements(By.CSS_SELECTOR, "#runs tr"))
    out["history_failed"] = [tr.find_elements(By.TAG_NAME, "td")[1].text for tr in driver.find_elements(By.CSS_SELECTOR, "#runs tr")]
    shot("09-history.png")
    driver.get(url + "history?from=yesterday")
    out["history_bad_filter"] = wait("the filter's message", lambda: driver.find_element(By.ID, "message").text)

    # A tablet in portrait.
    driver.set_window_size(800, 1280)
    driver.get(url)
    live()
    out["tablet_overflow"] = js("return document.documentElement.scrollWidth > window.innerWidth")
    shot("10-tablet.png")
except Exception as e:
    out["failed"] = repr(e)
    try:
        shot("failure.png")
        out["page"] = driver.find_element(By.TAG_NAME, "body").text[:3000]
    except Exception:
        pass
finally:
    driver.quit()
print(json.dumps(out))
