<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_TW">
<context>
    <name>CandidateBar</name>
    <message>
        <location filename="../hwime/ui/candidates.py" line="234"/>
        <source>key {0}, {1:.0%} likely</source>
        <translation>按鍵 {0}，可能性 {1:.0%}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/candidates.py" line="235"/>
        <source>{0:.0%} likely</source>
        <translation>可能性 {0:.0%}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/candidates.py" line="227"/>
        <source>merged</source>
        <translation>合併</translation>
    </message>
    <message>
        <location filename="../hwime/ui/candidates.py" line="227"/>
        <source>split</source>
        <translation>拆分</translation>
    </message>
</context>
<context>
    <name>LineCells</name>
    <message>
        <location filename="../hwime/ui/candidates.py" line="295"/>
        <source>{0}: click to see what else this character could be</source>
        <translation>{0}：點一下，看這個字還可能是什麼</translation>
    </message>
</context>
<context>
    <name>PadWindow</name>
    <message>
        <location filename="../hwime/ui/window.py" line="169"/>
        <source>hwime — handwriting</source>
        <translation>hwime — 手寫輸入</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="179"/>
        <source>Undo</source>
        <translation>撤銷</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="180"/>
        <source>Remove the last stroke (Backspace, right click); right after a pick, bring its drawing back to pick another candidate</source>
        <translation>刪去最後一筆（退格鍵、右鍵）；剛選字後按它，找回那次的筆跡，改選別的候選</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="182"/>
        <source>Clear</source>
        <translation>清除</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="182"/>
        <source>Start over (Esc)</source>
        <translation>重新開始（Esc）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="183"/>
        <source>Send 1st</source>
        <translation>上屏首選</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="183"/>
        <source>Send the best candidate (Space)</source>
        <translation>傳送第一個候選（空格）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="184"/>
        <source>Switch between copying to the clipboard and typing into the focused window</source>
        <translation>在複製到剪貼簿和輸入到當前視窗之間切換</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="185"/>
        <source>Line</source>
        <translation>整行</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="186"/>
        <source>Write a whole phrase in a wide line (on) or one character in the square box (off)</source>
        <translation>在寬行裡寫一整句（開），或在方格里寫一個字（關）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="196"/>
        <source>Settings…</source>
        <translation>設定…</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="196"/>
        <source>Output, candidates, pen, model</source>
        <translation>輸出、候選、筆、模型</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="211"/>
        <source>Recent:</source>
        <translation>最近：</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="281"/>
        <location filename="../hwime/ui/window.py" line="719"/>
        <source>Loading the model…</source>
        <translation>正在載入模型…</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="500"/>
        <source>Line: write a phrase, then pick the whole string; click a character below to fix it.</source>
        <translation>整行：寫一句話，再選整串；點下面的字可以改正。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="504"/>
        <source>Write one character in the box.</source>
        <translation>在方格里寫一個字。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="508"/>
        <source>Line: the character is the line&apos;s first; write the rest after it.</source>
        <translation>整行：這個字是這行的第一個字；在它後面寫其餘的字。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="512"/>
        <source>The phrase stays a line: pick its string or Clear; then the box comes.</source>
        <translation>這句仍是整行：點選它的字串或清除，之後換回方框。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="517"/>
        <source>Pick what character {0} should be.</source>
        <translation>選出第 {0} 個字應該是什麼。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="519"/>
        <source>Forgot what was learned of {0}; everything else learned stays.</source>
        <translation>已忘記 {0} 學到的筆跡；其他學到的都保留。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="522"/>
        <source>Character {0} is now {1}; pick the string to send it.</source>
        <translation>第 {0} 個字已改為 {1}；選這一串即可傳送。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="389"/>
        <source>Recognition failed: {0}. Keep writing or clear to try again.</source>
        <translation>識別失敗：{0}。繼續寫或清除後重試。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="393"/>
        <source>Not done: {0}</source>
        <translation>沒有做成：{0}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="397"/>
        <source>the CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="397"/>
        <source>the GPU (CUDA)</source>
        <translation>GPU（CUDA）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="398"/>
        <source>{0} characters on {1}</source>
        <translation>{0} 個字，執行於 {1}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="402"/>
        <source>Ready — {0}.</source>
        <translation>就緒 — {0}。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="409"/>
        <source>CUDA is not available here; running on the CPU</source>
        <translation>這臺電腦用不了 CUDA，改在 CPU 上執行</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="411"/>
        <source>{0} learned samples are of characters this model lacks</source>
        <translation>學到的 {0} 個樣本是這個模型沒有的字</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="416"/>
        <source>No recognizer: {0}</source>
        <translation>沒有識別器：{0}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="481"/>
        <source>{0} typed</source>
        <translation>已輸入 {0}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="481"/>
        <source>{0} copied to the clipboard</source>
        <translation>已複製 {0} 到剪貼簿</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="593"/>
        <source>Write a phrase in the line; click a string or press 1–{0}, Space.</source>
        <translation>在行裡寫一句話；點選一串，或按 1–{0}、空格。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="595"/>
        <source>Write a phrase in the line; click a string.</source>
        <translation>在行裡寫一句話；點選一串。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="510"/>
        <source>The characters stay written over each other: pick their string or Clear; then the new mode comes.</source>
        <translation>這些字仍是疊寫：點選它們的字串或清除，之後換成新的模式。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="191"/>
        <source>叠写</source>
        <translation>疊寫</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="192"/>
        <source>Overlap: write characters one over another in the square box, read as a string (on), or one character (off)</source>
        <translation>疊寫：在方框裡一個字疊著一個字寫，讀成一串（開），或只寫一個字（關）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="502"/>
        <source>Overlap: write each character over the last, then pick the whole string; click a character below to fix it.</source>
        <translation>疊寫：每個字寫在上一個字上面，再點選整串；點下面的字可以改它。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="506"/>
        <source>Overlap: the character is the string&apos;s first; write the next over it.</source>
        <translation>疊寫：這個字是這串的第一個字；在它上面寫下一個。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="597"/>
        <source>Write characters one over another; click a string or press 1–{0}, Space.</source>
        <translation>一個字疊著一個字寫；點選一串，或按 1–{0}、空格。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="598"/>
        <source>Write characters one over another; click a string.</source>
        <translation>一個字疊著一個字寫；點選一串。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="599"/>
        <source>Write a character; click a candidate or press 1–9, 0, Space.</source>
        <translation>寫一個字；點選候選，或按 1–9、0、空格。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="600"/>
        <source>Write a character; click a candidate.</source>
        <translation>寫一個字；點選候選。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="514"/>
        <source>The last drawing is back: pick the right candidate (the wrong one was already sent).</source>
        <translation>上次的筆跡回來了：選出正確的候選（錯的那個已經發出）。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="607"/>
        <source>{0} again</source>
        <translation>再發一次 {0}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="615"/>
        <source>Send {0} again</source>
        <translation>再次送出 {0}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="617"/>
        <source>Forget what was learned of {0} (samples kept: {1})</source>
        <translation>忘記 {0} 學到的筆跡（{1} 個樣本）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="631"/>
        <source>Mode: type — a click on a candidate types it into the window you were working in.</source>
        <translation>模式：輸入 — 點選候選，就輸入到你正在用的視窗。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="633"/>
        <source>Mode: copy — a click on a candidate (or 1–9, 0, Space) copies it.</source>
        <translation>模式：複製 — 點選候選（或按 1–9、0、空格）即複製。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="638"/>
        <source>Mode: type</source>
        <translation>模式：輸入</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="638"/>
        <source>Mode: copy</source>
        <translation>模式：複製</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="498"/>
        <source>Nothing to send yet: write a character first.</source>
        <translation>還沒有可傳送的：先寫一個字。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="730"/>
        <source>Could not save settings ({0}); they apply until the pad closes.</source>
        <translation>無法儲存設定（{0}）；在關閉前仍然有效。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="0"/>
        <source>Backspace</source>
        <translation>退格</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="0"/>
        <source>Enter</source>
        <translation>換行</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="0"/>
        <source>{0} not pressed: {1}</source>
        <translation>{0} 未按下：{1}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="0"/>
        <source>{0} pressed</source>
        <translation>已按{0}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="0"/>
        <source>The last drawing is back and {0} was erased where it was typed: pick the right candidate.</source>
        <translation>上次的筆跡回來了，已輸入的 {0} 已刪除：選出正確的候選。</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="0"/>
        <source>The last drawing is back, but {0} stays where it was typed ({1}); ⌫ erases it.</source>
        <translation>上次的筆跡回來了，但已輸入的 {0} 還在（{1}）；⌫ 可刪除它。</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../hwime/ui/window.py" line="759"/>
        <source>hwime settings</source>
        <translation>hwime 設定</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="762"/>
        <source>copy to the clipboard</source>
        <translation>複製到剪貼簿</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="762"/>
        <source>type into the focused window</source>
        <translation>輸入到目前視窗</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="772"/>
        <source>auto (the GPU when there is one)</source>
        <translation>自動（有 GPU 就用 GPU）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="772"/>
        <source>the CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="773"/>
        <source>the GPU (CUDA)</source>
        <translation>GPU（CUDA）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="777"/>
        <source>the bundled model</source>
        <translation>自帶模型</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="783"/>
        <source>Output (copy to clipboard / type into the focused window)</source>
        <translation>輸出（複製到剪貼簿 / 輸入到當前視窗）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="784"/>
        <source>Candidates shown</source>
        <translation>候選個數</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="785"/>
        <source>Pen width (pixels)</source>
        <translation>筆寬（畫素）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="786"/>
        <source>Run the model on</source>
        <translation>模型執行在</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="787"/>
        <location filename="../hwime/ui/window.py" line="864"/>
        <source>Model bundle</source>
        <translation>模型檔案</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="788"/>
        <source>Rank common characters first</source>
        <translation>常用字排在前面</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="790"/>
        <source>Rank by the characters sent just before</source>
        <translation>按剛傳送的字排序</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="792"/>
        <source>Show pinyin under the candidates</source>
        <translation>在候選下顯示拼音</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="794"/>
        <source>Offer continuations (associated words) after a pick</source>
        <translation>選字後提供聯想詞</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="796"/>
        <source>Learn my handwriting from my picks (kept on this computer)</source>
        <translation>從我的選擇學習我的筆跡（只儲存在這臺電腦上）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="799"/>
        <location filename="../hwime/ui/window.py" line="810"/>
        <source>as the system</source>
        <translation>跟隨系統</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="800"/>
        <source>both (简/繁, kana and symbols too)</source>
        <translation>簡繁都要（也有假名和符號）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="804"/>
        <source>automatic (a clear face of the script)</source>
        <translation>自動（選一種清楚的字型）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="823"/>
        <source>Script I write</source>
        <translation>我寫的字（簡體/繁體）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="824"/>
        <source>Candidates&apos; font</source>
        <translation>候選的字型</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="825"/>
        <source>Language of the pad (from its next start)</source>
        <translation>介面語言（下次啟動起生效）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="826"/>
        <source>Forget what was learned (samples kept: {0})</source>
        <translation>忘記學到的筆跡（{0} 個樣本）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="833"/>
        <source>{0} (samples kept: {1})</source>
        <translation>{0}（{1} 個樣本）</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="834"/>
        <source>Forget this character</source>
        <translation>忘記這個字</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="841"/>
        <source>Learned characters</source>
        <translation>學到的字</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="849"/>
        <source>Forgotten when you press OK</source>
        <translation>按「確定」後忘記</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="858"/>
        <source>Forgotten when you press OK: {0}</source>
        <translation>按「確定」後忘記：{0}</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="864"/>
        <source>hwime model (*.pt)</source>
        <translation>hwime 模型 (*.pt)</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="818"/>
        <source>{0} s</source>
        <translation>{0} 秒</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="818"/>
        <source>off</source>
        <translation>關</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="820"/>
        <source>Send the best candidate (or string) when the pen has rested this long, as a pick would; Undo right after takes it back</source>
        <translation>筆停下這麼久後送出第一個候選（或整串），如同點選；隨即撤銷可取回</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="822"/>
        <source>Send after a pause</source>
        <translation>停筆後自動送出</translation>
    </message>
</context>
<context>
    <name>WarningBar</name>
    <message>
        <location filename="../hwime/ui/window.py" line="135"/>
        <source>Dismiss</source>
        <translation>關閉</translation>
    </message>
    <message>
        <location filename="../hwime/ui/window.py" line="135"/>
        <source>Hide these warnings</source>
        <translation>隱藏這些警告</translation>
    </message>
</context>
<context>
    <name>TypingKeys</name>
    <message>
        <location filename="../hwime/ui/keys.py" line="0"/>
        <source>Backspace: erase the character before the cursor</source>
        <translation>退格：刪除游標前的字</translation>
    </message>
    <message>
        <location filename="../hwime/ui/keys.py" line="0"/>
        <source>Space</source>
        <translation>空格</translation>
    </message>
    <message>
        <location filename="../hwime/ui/keys.py" line="0"/>
        <source>Enter</source>
        <translation>換行</translation>
    </message>
</context>
</TS>
